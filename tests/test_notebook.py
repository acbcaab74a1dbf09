"""notebooks/quickstart.ipynb runs top to bottom on a fresh kernel."""

from __future__ import annotations

from pathlib import Path
from typing import Any, cast

import nbformat
from nbclient import NotebookClient

NOTEBOOK = Path(__file__).parent.parent / "notebooks" / "quickstart.ipynb"


def test_quickstart_notebook_runs() -> None:
    notebook = cast("Any", nbformat.read(NOTEBOOK, as_version=4))  # pyright: ignore[reportUnknownMemberType]  # nbformat is untyped
    client = NotebookClient(
        notebook, timeout=120, kernel_name="python3", resources={"metadata": {"path": str(NOTEBOOK.parent)}}
    )
    client.execute()  # pyright: ignore[reportUnknownMemberType]  # nbclient is untyped
    printed = [
        str(output.get("text", "")) for cell in notebook.cells if cell.cell_type == "code" for output in cell.outputs
    ]
    text = "".join(printed)
    assert "invoke_agent travel_agent" in text
    assert "turn 3   stop" in text
    assert "run total: $" in text
