"""notebooks/quickstart.ipynb runs top to bottom on a fresh kernel."""

from __future__ import annotations

from pathlib import Path
from typing import Any, cast

import nbformat
from nbclient import NotebookClient

NOTEBOOK = Path(__file__).parent.parent / "notebooks" / "quickstart.ipynb"


async def test_quickstart_notebook_runs() -> None:
    notebook = cast("Any", nbformat.read(NOTEBOOK, as_version=4))  # pyright: ignore[reportUnknownMemberType]  # nbformat is untyped
    client = NotebookClient(
        notebook, timeout=120, kernel_name="python3", resources={"metadata": {"path": str(NOTEBOOK.parent)}}
    )
    # async_execute on pytest-asyncio's loop: the sync execute() of older nbclient leaves its own loop open
    await client.async_execute()  # pyright: ignore[reportUnknownMemberType]  # nbclient is untyped
    outputs = [output for cell in notebook.cells if cell.cell_type == "code" for output in cell.outputs]
    text = "".join(str(output.get("text", "")) for output in outputs)
    html = "".join(str(output.get("data", {}).get("text/html", "")) for output in outputs)
    assert "quickstart run" in html  # the inline waterfall
    assert "execute_tool search_flights" in html
    assert "2 runs, latest" in text
    assert "model  gpt-4o" in text
    assert "session total: $0.024900" in text
