"""The package version, from the installed distribution."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("langchain-turntrace")
except PackageNotFoundError:  # pragma: no cover - running from a source tree that was never installed
    __version__ = "0.0.0"

INSTRUMENTATION_SCOPE = "langchain_turntrace"
"""The tracer name on every span we make. Our backends count usage only on spans of this scope: a provider SDK's
own GenAI span nested under our ``chat`` span (the anthropic SDK's ``anthropic.messages.create``) is the same call."""
