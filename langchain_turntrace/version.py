"""The package version, from the installed distribution."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("langchain-turntrace")
except PackageNotFoundError:  # pragma: no cover - running from a source tree that was never installed
    __version__ = "0.0.0"
