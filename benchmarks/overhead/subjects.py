"""Our subjects: the untraced baseline, a do-nothing handler, the three floors (raw OTel; our payload by hand; the
same, live) and turntrace itself (three pipelines); ``all_subjects`` adds the peers (benchmarks/peers)."""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

from langchain_core.callbacks import BaseCallbackHandler
from opentelemetry.sdk.trace import TracerProvider

from benchmarks.overhead.floor import RawOtelHandler
from benchmarks.overhead.live_floor import LiveFloorHandler, live_mismatch
from benchmarks.overhead.payload_floor import PayloadFloorHandler, payload_mismatch
from benchmarks.overhead.subject import ProviderSubject, Subject
from benchmarks.overhead.workload import MODEL
from langchain_turntrace import TurnTraceCallbackHandler, configure
from langchain_turntrace.store import SpanStore

FLUSH_TIMEOUT_S = 30.0
SESSION_ID = "bench-session"
FEATURE = "bench"


class Baseline(Subject):
    name = "baseline"
    description = "no callbacks (untraced)"


class DoNothing(Subject):
    name = "noop-handler"
    description = "a BaseCallbackHandler that overrides nothing: LangChain's own dispatch cost"

    def open(self) -> None:
        self._handler = BaseCallbackHandler()

    def callbacks(self) -> list[BaseCallbackHandler]:
        return [self._handler]


class _HandlerSubject(ProviderSubject):
    """A callback handler over a TracerProvider of its own into a counting sink."""

    def open(self) -> None:
        super().open()
        self._handler = self.handler()

    def handler(self) -> BaseCallbackHandler:
        raise NotImplementedError

    def callbacks(self) -> list[BaseCallbackHandler]:
        return [self._handler]


class Floor(_HandlerSubject):
    name = "raw-otel-floor"
    description = "one span per model and tool call, nothing else; BatchSpanProcessor"

    def handler(self) -> BaseCallbackHandler:
        return RawOtelHandler(self._provider.get_tracer("benchmarks.floor"))


def our_handler(provider: TracerProvider) -> BaseCallbackHandler:
    return TurnTraceCallbackHandler(tracer_provider=provider, session_id=SESSION_ID, feature=FEATURE)


def payload_floor_handler(provider: TracerProvider) -> BaseCallbackHandler:
    tracer = provider.get_tracer("benchmarks.payload_floor")
    return PayloadFloorHandler(tracer, session_id=SESSION_ID, feature=FEATURE, model=MODEL, provider="openai")


def live_floor_handler(provider: TracerProvider) -> BaseCallbackHandler:
    tracer = provider.get_tracer("benchmarks.live_floor")
    return LiveFloorHandler(tracer, session_id=SESSION_ID, feature=FEATURE, model=MODEL, provider="openai")


class _CheckedFloor(_HandlerSubject):
    """A hand-written floor for our payload, compared with our handler's spans once per process before anything
    is measured: a floor that drifted from what ours emits measures nothing, so it raises at its first block."""

    source = ""  # the floor's file, for the message

    def open(self) -> None:
        super().open()
        self._mismatch = self.mismatch()

    def mismatch(self) -> str | None:
        raise NotImplementedError

    def start(self) -> None:
        if self._mismatch is not None:
            raise RuntimeError(f"it and ours emit different spans; make {self.source} and ours match: {self._mismatch}")


class PayloadFloor(_CheckedFloor):
    name = "payload-floor"
    description = "our spans and attributes from a minimal hand-written handler, nothing else; BatchSpanProcessor"
    source = "benchmarks/overhead/payload_floor.py"

    def mismatch(self) -> str | None:
        return payload_mismatch(our_handler, payload_floor_handler)

    def handler(self) -> BaseCallbackHandler:
        return payload_floor_handler(self._provider)


class LiveFloor(_CheckedFloor):
    name = "live-floor"
    description = (
        "the payload floor, live: each chat and tool span the current context while its call runs, each tool "
        "span linked to its chat span; BatchSpanProcessor"
    )
    source = "benchmarks/overhead/live_floor.py"

    def mismatch(self) -> str | None:
        return live_mismatch(our_handler, live_floor_handler)

    def handler(self) -> BaseCallbackHandler:
        return live_floor_handler(self._provider)


class OursSimple(_HandlerSubject):
    name = "ours-simple"
    description = "TurnTraceCallbackHandler (turn tree, tags, hashes, cost); SimpleSpanProcessor"
    batch = False

    def handler(self) -> BaseCallbackHandler:
        return our_handler(self._provider)


class OursBatch(OursSimple):
    name = "ours-batch"
    description = "TurnTraceCallbackHandler; BatchSpanProcessor"
    batch = True


class OursStore(Subject):
    name = "ours-store"
    description = "configure('local'): our batching processor into the SQLite store (temp file)"

    def open(self) -> None:
        self._directory = Path(tempfile.mkdtemp(prefix="turntrace-bench-"))
        self._path = self._directory / "bench.db"
        self._handler = configure(
            "local", store_path=self._path, flush_timeout_s=FLUSH_TIMEOUT_S, session_id=SESSION_ID
        )

    def callbacks(self) -> list[BaseCallbackHandler]:
        return [self._handler]

    def flush(self) -> None:
        if not self._handler.flush(timeout_s=FLUSH_TIMEOUT_S):
            raise RuntimeError(f"the local store did not take the spans within {FLUSH_TIMEOUT_S:g} s")

    def produced(self) -> int:
        if not self._path.exists():
            return 0
        with SpanStore.open(self._path, create=False) as store:
            return store.spans_count()

    def close(self) -> None:
        self._handler.flush(timeout_s=FLUSH_TIMEOUT_S)
        shutil.rmtree(self._directory, ignore_errors=True)


OURS = ("ours-simple", "ours-batch", "ours-store")
FLOORS = ("raw-otel-floor", "payload-floor", "live-floor")


def all_subjects() -> dict[str, type[Subject]]:
    """Every subject by name, in the order the tables list them."""
    from benchmarks.peers import PEERS

    ours: list[type[Subject]] = [Baseline, DoNothing, Floor, PayloadFloor, LiveFloor, OursSimple, OursBatch, OursStore]
    return {subject.name: subject for subject in [*ours, *PEERS]}
