"""A LangSmith on 127.0.0.1 for the real ``langsmith`` client: /info, the ingest endpoints and /runs/query.

Every payload is decoded and held to the langsmith SDK's own run schema and to the rules LangSmith's ingest
applies (trace id, dotted order); what breaks them lands in ``problems``. Faults on demand: an HTTP status for
every ingest request, or a delay before every answer (/info included).
"""

from __future__ import annotations

import email.parser
import email.policy
import gzip
import http.server
import json
import re
import threading
import time
from collections.abc import Callable, Generator, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, cast
from uuid import UUID

import zstandard
from langsmith.schemas import LangSmithInfo, Run

_SEGMENT = re.compile(r"^(\d{8}T\d{6}\d{6})Z([0-9a-f-]{36})$")
_PART = re.compile(r"^(post|patch)\.([0-9a-f-]{36})(?:\.(inputs|outputs|events|extra|error|serialized))?$")
_RUN_PATCH = re.compile(r"^/runs/([0-9a-f-]{36})$")


@dataclass
class Request:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes  # as decoded (decompressed, de-chunked)
    at: float  # time.monotonic() when it arrived
    wire_bytes: int = 0  # the body's size as sent (compressed, when it was)


@dataclass
class Operation:
    kind: str  # "post" or "patch"
    run: dict[str, Any]
    at: float


@dataclass
class FakeLangSmith:
    """``with FakeLangSmith() as server: ... server.url``. ``multipart=False`` answers like a LangSmith without
    the multipart endpoint; ``fail_status`` answers every ingest request with it; ``delay_s`` holds every answer.
    An ingest request larger than ``size_limit_bytes`` on the wire is refused with 413, as LangSmith does; ``zstd``
    says whether it takes zstd-compressed requests."""

    multipart: bool = True
    size_limit_bytes: int = 20_971_520
    zstd: bool = True
    refuse_first: int = 0  # ingest requests answered 422 before it takes any
    fail_status: int | None = None
    delay_s: float = 0.0
    page_size: int = 4
    requests: list[Request] = field(default_factory=lambda: list[Request]())
    operations: list[Operation] = field(default_factory=lambda: list[Operation]())
    problems: list[str] = field(default_factory=lambda: list[str]())
    feedback: list[dict[str, Any]] = field(default_factory=lambda: list[dict[str, Any]]())

    def __post_init__(self) -> None:
        self._lock = threading.Lock()
        self._released = threading.Event()
        self._server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _handler_for(self))
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    def __enter__(self) -> FakeLangSmith:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._released.set()  # answers held by delay_s go out now
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(5)

    def runs(self) -> dict[UUID, dict[str, Any]]:
        """Every run as LangSmith would store it: its post with its patches applied, checked against the
        SDK's ``Run`` schema."""
        merged: dict[UUID, dict[str, Any]] = {}
        with self._lock:
            operations = list(self.operations)
        for op in operations:
            run_id = UUID(str(op.run["id"]))
            if op.kind == "post":
                merged[run_id] = {**merged.get(run_id, {}), **op.run}
            else:
                merged.setdefault(run_id, {}).update({k: v for k, v in op.run.items() if v is not None})
        for run_id, run in merged.items():
            try:
                Run(**run)
            except Exception as error:  # noqa: BLE001  # reported, not raised: the test lists every problem
                self.problems.append(f"run {run_id} does not fit langsmith.schemas.Run: {error}")
        return merged

    def wait_for(self, predicate: Callable[[], bool], timeout_s: float = 5.0) -> bool:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if predicate():
                return True
            time.sleep(0.01)
        return predicate()

    # -- what the handler calls ------------------------------------------------------------------------------
    def info(self) -> dict[str, Any]:
        info: dict[str, Any] = {
            "version": "0.11.4",
            "license_expiration_time": None,
            "batch_ingest_config": {
                "use_multipart_endpoint": self.multipart,
                "scale_up_qsize_trigger": 1000,
                "scale_up_nthreads_limit": 16,
                "scale_down_nempty_trigger": 4,
                "size_limit": 100,
                "size_limit_bytes": self.size_limit_bytes,
            },
            "instance_flags": {
                "zstd_compression_enabled": self.zstd,
                "dataset_examples_multipart_enabled": True,
                "examples_multipart_enabled": True,
                "search_enabled": True,
            },
            "customer_info": None,
        }
        LangSmithInfo(**info)  # what we answer is what the client parses
        return info

    def hold(self) -> None:
        if self.delay_s:
            self._released.wait(self.delay_s)

    def record(self, request: Request) -> None:
        with self._lock:
            self.requests.append(request)

    def ingest(self, kind: str, run: dict[str, Any], at: float) -> None:
        self._check(kind, run)
        with self._lock:
            if kind == "post" and any(op.kind == "post" and op.run["id"] == run["id"] for op in self.operations):
                self.problems.append(f"run {run['id']} posted twice: two tracers on one run id?")
            self.operations.append(Operation(kind, run, at))

    def query(self, body: dict[str, Any]) -> dict[str, Any]:
        trace = str(body.get("trace"))
        runs = sorted(
            (run for run in self.runs().values() if str(run.get("trace_id")) == trace),
            key=lambda run: str(run.get("dotted_order")),
        )
        offset = int(body.get("cursor") or 0)
        page = runs[offset : offset + self.page_size]
        following = offset + self.page_size
        return {"runs": page, "cursors": {"next": str(following) if following < len(runs) else None}}

    def refuse_next(self) -> bool:
        with self._lock:
            refuse, self.refuse_first = self.refuse_first > 0, max(self.refuse_first - 1, 0)
        return refuse

    def take_feedback(self, feedback: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        """Feedback attaches to a run that exists (404 otherwise, as for a run id LangSmith never saw)."""
        if UUID(str(feedback.get("run_id"))) not in self.runs():
            return 404, {"detail": f"run {feedback.get('run_id')} not found"}
        with self._lock:
            self.feedback.append(feedback)
        return 200, {**feedback, "id": str(feedback.get("id"))}

    def _check(self, kind: str, run: dict[str, Any]) -> None:
        run_id = str(run.get("id"))
        trace_id, dotted = run.get("trace_id"), run.get("dotted_order")
        if not isinstance(trace_id, str) or not isinstance(dotted, str):
            self.problems.append(f"{kind} {run_id} without trace_id and dotted_order: batch ingest refuses it")
            return
        segments = [_SEGMENT.match(s) for s in dotted.split(".")]
        if not all(segments):
            self.problems.append(f"{kind} {run_id}: malformed dotted_order {dotted!r}")
            return
        found = cast("list[re.Match[str]]", segments)
        if found[-1].group(2) != run_id or found[0].group(2) != trace_id:
            self.problems.append(
                f"{kind} {run_id}: dotted_order {dotted!r} does not end in the run, start at the trace"
            )
        stamps = [m.group(1) for m in found]
        if stamps != sorted(stamps):
            self.problems.append(f"{kind} {run_id}: a run starts before its parent in {dotted!r}")
        if kind == "post":
            try:
                parsed = Run(**run)
            except Exception as error:  # noqa: BLE001  # reported, not raised
                self.problems.append(f"post {run_id} does not fit langsmith.schemas.Run: {error}")
                return
            if f"{parsed.start_time:%Y%m%dT%H%M%S%f}" != stamps[-1]:
                self.problems.append(f"post {run_id}: start_time {parsed.start_time} is not its dotted order's")


def _handler_for(server: FakeLangSmith) -> type[http.server.BaseHTTPRequestHandler]:
    class Handler(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"  # keep-alive, as LangSmith's load balancer does

        def do_GET(self) -> None:
            self._serve()

        def do_POST(self) -> None:
            self._serve()

        def do_PATCH(self) -> None:
            self._serve()

        def _serve(self) -> None:
            at = time.monotonic()
            raw = _read_body(self)
            body = _decoded(self.headers, raw)
            server.record(Request(self.command, self.path, dict(self.headers.items()), body, at, len(raw)))
            server.hold()
            path = self.path.split("?", 1)[0]
            if self.command == "GET" and path == "/info":
                return self._answer(200, server.info())
            if self.command == "POST" and path == "/runs/query":
                return self._answer(200, server.query(json.loads(body or b"{}")))
            if self.command == "POST" and path == "/feedback":
                return self._answer(*server.take_feedback(json.loads(body or b"{}")))
            ingest = (self.command, path) in {("POST", "/runs"), ("POST", "/runs/batch"), ("POST", "/runs/multipart")}
            patch = self.command == "PATCH" and _RUN_PATCH.match(path)
            if not ingest and not patch:
                return self._answer(404, {"detail": "Not Found"})
            if path == "/runs/multipart" and not server.multipart:
                return self._answer(404, {"detail": "Not Found"})
            if server.fail_status is not None:
                return self._answer(server.fail_status, {"detail": "unavailable"})
            if server.refuse_next():
                return self._answer(422, {"detail": "refused"})
            if len(raw) > server.size_limit_bytes:
                return self._answer(413, {"detail": f"request of {len(raw)} bytes over {server.size_limit_bytes}"})
            try:
                for kind, run in _operations(self.command, path, self.headers.get("Content-Type", ""), body):
                    server.ingest(kind, run, at)
            except Exception as error:  # noqa: BLE001  # a payload we cannot read is the test's failure
                server.problems.append(f"{self.command} {path}: unreadable payload: {error!r}")
                return self._answer(422, {"detail": "unreadable"})
            return self._answer(202, {"message": "Runs batch ingested"})

        def _answer(self, status: int, payload: dict[str, Any]) -> None:
            data = json.dumps(payload).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, format: str, *args: object) -> None:
            return  # quiet: the test output is ours

    return Handler


def _read_body(handler: http.server.BaseHTTPRequestHandler) -> bytes:
    if handler.headers.get("Transfer-Encoding", "").lower() == "chunked":
        chunks: list[bytes] = []
        while size := int(handler.rfile.readline().split(b";")[0].strip() or b"0", 16):
            chunks.append(handler.rfile.read(size))
            handler.rfile.readline()
        handler.rfile.readline()
        return b"".join(chunks)
    return handler.rfile.read(int(handler.headers.get("Content-Length") or 0))


def _decoded(headers: Any, body: bytes) -> bytes:
    encoding = str(headers.get("Content-Encoding") or "").lower()
    if encoding == "zstd":
        return zstandard.ZstdDecompressor().decompressobj().decompress(body)
    if encoding == "gzip":
        return gzip.decompress(body)
    return body


def _operations(method: str, path: str, content_type: str, body: bytes) -> Iterator[tuple[str, dict[str, Any]]]:
    if path == "/runs/multipart":
        yield from _multipart_operations(content_type, body)
    elif path == "/runs/batch":
        batch = cast("dict[str, list[dict[str, Any]]]", json.loads(body))
        for kind in ("post", "patch"):
            for run in batch.get(kind) or []:
                yield kind, run
    elif method == "POST":
        yield "post", json.loads(body)
    else:
        yield "patch", {**json.loads(body), "id": path.rsplit("/", 1)[1]}


def _multipart_operations(content_type: str, body: bytes) -> Iterator[tuple[str, dict[str, Any]]]:
    """``post.{id}`` / ``patch.{id}`` parts carry a run; ``post.{id}.inputs`` and the like carry its fields."""
    message = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(
        b"Content-Type: " + content_type.encode() + b"\r\n\r\n" + body
    )
    runs: dict[tuple[str, str], dict[str, Any]] = {}
    for part in message.iter_parts():  # pyright: ignore[reportAttributeAccessIssue, reportUnknownMemberType, reportUnknownVariableType]  # an EmailMessage under the HTTP policy
        name = str(part.get_param("name", header="content-disposition"))  # pyright: ignore[reportUnknownMemberType, reportUnknownArgumentType]  # as above
        matched = _PART.match(name)
        if matched is None:
            raise ValueError(f"unexpected multipart part {name!r}")
        kind, run_id, key = matched.groups()
        value = json.loads(cast("bytes", part.get_payload(decode=True)))  # pyright: ignore[reportUnknownMemberType]  # as above
        run = runs.setdefault((kind, run_id), {"id": run_id})
        if key is None:
            run.update(value)
        else:
            run[key] = value
    yield from ((kind, run) for (kind, _), run in runs.items())


@contextmanager
def refused_port() -> Generator[str, None, None]:
    """A URL on 127.0.0.1 where nothing listens: LangSmith unreachable, connections refused."""
    probe = http.server.HTTPServer(("127.0.0.1", 0), http.server.BaseHTTPRequestHandler)
    host, port = probe.server_address[:2]
    probe.server_close()
    yield f"http://{host!s}:{port}"
