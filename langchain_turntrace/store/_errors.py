"""StoreError: a store file that cannot be used, with a message that says what to do about it."""

from __future__ import annotations


class StoreError(Exception):
    """The store is missing, corrupt, too new or unwritable, or a query names something it does not hold."""
