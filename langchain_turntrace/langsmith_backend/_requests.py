"""Runs into ingest requests LangSmith takes: each request under its size limit, a run too large alone sent without
its content, and one still too large set apart. Plain data, no I/O."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Final

DEFAULT_SIZE_LIMIT_BYTES: Final = 20 * 1024 * 1024
"""LangSmith's request size limit when its /info does not say (its ``batch_ingest_config.size_limit_bytes``)."""
_BODY_SHARE: Final = 0.9  # of the limit, for the runs' JSON: the multipart framing and the client's additions

Run = tuple[str, dict[str, Any], bool]
"""("post" or "patch", the run, whether it carries a span's end)."""


@dataclass
class Requests:
    requests: list[list[Run]] = field(default_factory=lambda: list[list[Run]]())
    trimmed: int = 0  # runs sent without their inputs and outputs
    too_large: list[Run] = field(default_factory=lambda: list[Run]())  # runs too large even so: not sent


def fitted(runs: Sequence[Run], size_limit: int) -> Requests:
    """``runs`` in order, in requests of at most ``size_limit`` bytes."""
    out = Requests()
    budget = int(size_limit * _BODY_SHARE)
    request: list[Run] = []
    used = 0
    for kind, run, ends_span in runs:
        size = _size(run)
        if size > budget:
            run, size = _trimmed(run, size, size_limit)
            if size > budget:
                out.too_large.append((kind, run, ends_span))
                continue
            out.trimmed += 1
        if request and used + size > budget:
            out.requests.append(request)
            request, used = [], 0
        request.append((kind, run, ends_span))
        used += size
    if request:
        out.requests.append(request)
    return out


def _size(run: dict[str, Any]) -> int:
    """About the bytes the run takes in a request: its JSON (the client's encoding is as compact)."""
    return len(_encode(run))


def _trimmed(run: dict[str, Any], size: int, limit: int) -> tuple[dict[str, Any], int]:
    """The run without its inputs and outputs, which say why instead (a model call keeps its usage); its size."""
    note = f"left out: this run took {size} bytes, over LangSmith's {limit}-byte request limit"
    trimmed = {**run, **{part: {"turntrace": note} for part in ("inputs", "outputs") if run.get(part)}}
    outputs: dict[str, Any] = run.get("outputs") or {}
    usage = outputs.get("usage_metadata")
    if usage is not None:  # a model call's usage stays countable (LANGSMITH_HIDE_METADATA may hide the other copy)
        trimmed["outputs"]["usage_metadata"] = usage
    return trimmed, _size(trimmed)


_encode: Final = json.JSONEncoder(separators=(",", ":"), default=str).encode
