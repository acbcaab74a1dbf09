"""Pre-launch checks of a traced run: the tree, the cost attributes, the tags, the retention policy."""

from langchain_turntrace.verify._checks import Check, WiringError, assert_well_wired, check_run
from langchain_turntrace.verify._session import run_scripted_session, verify_backend

__all__ = ["Check", "WiringError", "assert_well_wired", "check_run", "run_scripted_session", "verify_backend"]
