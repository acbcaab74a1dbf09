"""The environment variables langchain-turntrace reads, each declared once. Argument > env > default."""

from typing import Final

TURNTRACE_HASH_KEY: Final = "TURNTRACE_HASH_KEY"
"""Secret key for tool-input hashes. When set, ``turntrace.input_hash`` is HMAC-SHA-256 under this key, so
low-entropy inputs (a user id, a yes/no) cannot be recovered by hashing guesses. Default: plain SHA-256."""

TURNTRACE_PRICES: Final = "TURNTRACE_PRICES"
"""Path of a TOML or JSON file of model prices (USD per million tokens) that override or extend the
genai-prices table: ``{"my-model": {"input_per_mtok": 1.0, "output_per_mtok": 2.0}}``."""

TURNTRACE_FEATURE: Final = "TURNTRACE_FEATURE"
"""Deployment-wide ``turntrace.feature`` tag, used when neither the handler, the run's metadata nor
``langchain_turntrace.tags()`` gives one."""

TURNTRACE_AGENT_VERSION: Final = "TURNTRACE_AGENT_VERSION"
"""Deployment-wide ``turntrace.agent_version`` tag (a git sha, a release), lowest precedence like
``TURNTRACE_FEATURE``."""

TURNTRACE_STORE: Final = "TURNTRACE_STORE"
"""Path of the local SQLite span store (the default backend, read by the ``turntrace`` CLI). Default:
``$XDG_DATA_HOME/turntrace/traces.db``, else ``~/.local/share/turntrace/traces.db``."""

TURNTRACE_RETENTION_DAYS: Final = "TURNTRACE_RETENTION_DAYS"
"""Days the local store keeps a trace after it ended (whole traces are pruned). Default 30; less works but
warns, since incidents are often found after more than a week."""

TURNTRACE_STRICT: Final = "TURNTRACE_STRICT"
"""``true`` re-raises the handler's internal errors instead of logging them once. For test suites (ours sets
it); never for production, where tracing must not break the agent."""

OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT: Final = "OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT"
"""The OTel GenAI opt-in for recording message and tool content (``true``/``false``, or the newer
``SPAN_ONLY``/``SPAN_AND_EVENT``/``EVENT_ONLY``/``NO_CONTENT``). Default: no content."""

TURNTRACE_BACKEND: Final = "TURNTRACE_BACKEND"
"""Where ``configure()`` (and zero-code tracing) sends spans: ``local`` (default: the SQLite store),
``otlp`` (OTLP/HTTP, configured by the standard ``OTEL_EXPORTER_OTLP_*`` variables), ``langsmith``
(``LANGSMITH_API_KEY`` / ``LANGSMITH_ENDPOINT`` / ``LANGSMITH_PROJECT``), ``console`` (JSON on stdout) or
``none`` (tracing off)."""

TURNTRACE_TRACING: Final = "TURNTRACE_TRACING"
"""``true`` traces every LangChain / LangGraph run in the process through ``TURNTRACE_BACKEND`` without
``callbacks=``: no code change. A handler passed explicitly is not doubled. Default ``false``."""

TURNTRACE_FLUSH_TIMEOUT_S: Final = "TURNTRACE_FLUSH_TIMEOUT_S"
"""Seconds the program's exit (and ``handler.flush()``) waits for spans to reach a slow or unreachable
backend before giving up on them. Default 5."""

TURNTRACE_MAX_RUN_S: Final = "TURNTRACE_MAX_RUN_S"
"""Seconds after which a run whose end never came (a killed worker thread, a callback LangChain never sent)
is closed, its open spans marked ``turntrace.incomplete``, and its state freed. Default 21600 (6 h)."""

TURNTRACE_MAX_OPEN_RUNS: Final = "TURNTRACE_MAX_OPEN_RUNS"
"""At most this many runs are open per handler; past it, the oldest is closed as incomplete. Default 10000."""
