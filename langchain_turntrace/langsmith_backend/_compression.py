"""Run ingest requests zstd-compressed when LangSmith takes them so (its /info says ``zstd_compression_enabled``).

The client compresses only in its own background tracing, which this backend does not use (see ``_sender``); its
``multipart_ingest`` sends a plain multipart body. So the session the client is given compresses that body on its
way out: the client still does everything else (auth, retries, the endpoint, the multipart encoding)."""

from __future__ import annotations

from typing import Any, Final, cast

import requests
import zstandard

_INGEST_PATH: Final = "/runs/multipart"
_LEVEL: Final = 3  # zstd's default: most of the gain on JSON, at a few hundred MB/s


class CompressingSession(requests.Session):
    """A ``requests.Session`` that zstd-compresses multipart run ingests once ``enabled`` (set from /info)."""

    def __init__(self) -> None:
        super().__init__()
        self.enabled = False

    def send(self, request: requests.PreparedRequest, **kwargs: Any) -> requests.Response:
        if self.enabled and request.method == "POST" and (request.url or "").split("?", 1)[0].endswith(_INGEST_PATH):
            raw = _bytes_of(request.body)
            if isinstance(raw, bytes) and "Content-Encoding" not in request.headers:
                request.body = zstandard.ZstdCompressor(level=_LEVEL).compress(raw)  # one per request: not shared
                request.headers["Content-Encoding"] = "zstd"
                request.headers["Content-Length"] = str(len(request.body))
                request.headers.pop("Transfer-Encoding", None)
            elif isinstance(raw, bytes):
                request.body = raw
        return super().send(request, **kwargs)


def _bytes_of(body: object) -> object:
    """The body as bytes: a streaming multipart encoder is read out (it has a ``read``); else as it is."""
    read = getattr(body, "read", None)
    if callable(read):
        return cast("bytes", read())
    return body.encode() if isinstance(body, str) else body
