"""Configuration: a handler's settings resolved once, argument > ``TURNTRACE_*`` env (see ``env.py``) > default."""

from langchain_turntrace.config._settings import ConfigError, Settings, resolve_settings

__all__ = ["ConfigError", "Settings", "resolve_settings"]
