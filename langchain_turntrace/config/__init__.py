"""Configuration: ``TURNTRACE_*`` environment variables and the resolved settings of a handler."""

from langchain_turntrace.config._settings import ConfigError, Settings, resolve_settings

__all__ = ["ConfigError", "Settings", "resolve_settings"]
