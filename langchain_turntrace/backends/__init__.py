"""Backends: OTel SDK pipelines the handler's spans flow into (the handler never calls them directly)."""

from langchain_turntrace.backends._local import local_store_provider

__all__ = ["local_store_provider"]
