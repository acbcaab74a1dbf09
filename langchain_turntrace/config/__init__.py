"""Configuration: a handler's settings resolved once, argument > ``TURNTRACE_*`` env (see ``env.py``) > default."""

from langchain_turntrace.config._backend import (
    BACKENDS,
    Backend,
    BackendSettings,
    resolve_backend,
    resolve_flush_timeout_s,
    tracing_enabled,
)
from langchain_turntrace.config._budget import Budget, OnExceed, budget_policy
from langchain_turntrace.config._settings import (
    ConfigError,
    Settings,
    parse_flag,
    resolve_price_overrides,
    resolve_settings,
)

__all__ = [
    "BACKENDS",
    "Backend",
    "BackendSettings",
    "Budget",
    "ConfigError",
    "OnExceed",
    "Settings",
    "budget_policy",
    "parse_flag",
    "resolve_backend",
    "resolve_flush_timeout_s",
    "resolve_price_overrides",
    "resolve_settings",
    "tracing_enabled",
]
