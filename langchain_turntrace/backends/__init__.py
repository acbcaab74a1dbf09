"""Backends: OTel SDK pipelines the handler's spans flow into (the handler never calls them directly)."""

from langchain_turntrace.backends._local import local_store_provider
from langchain_turntrace.backends._pipeline import flush_within, shutdown_within
from langchain_turntrace.backends._select import provider_for

__all__ = ["flush_within", "local_store_provider", "provider_for", "shutdown_within"]
