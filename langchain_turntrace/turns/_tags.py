"""The four filter dimensions on every span, and the ``tags()`` context manager that sets them."""

from __future__ import annotations

from collections.abc import Generator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, fields, replace

from opentelemetry.util.types import AttributeValue

from langchain_turntrace import attributes as attr


@dataclass(frozen=True, slots=True)
class Tags:
    session_id: str | None = None
    user_id: str | None = None
    feature: str | None = None
    agent_version: str | None = None

    def or_else(self, other: Tags) -> Tags:
        """Each field from self when set, else from other."""
        return Tags(
            *(
                getattr(self, f.name) if getattr(self, f.name) is not None else getattr(other, f.name)
                for f in fields(self)
            )
        )

    def attributes(self) -> dict[str, AttributeValue]:
        out: dict[str, AttributeValue] = {}
        if self.session_id is not None:
            out[attr.SESSION_ID] = self.session_id
            out[attr.GEN_AI_CONVERSATION_ID] = self.session_id
        if self.user_id is not None:
            out[attr.USER_ID] = self.user_id
        if self.feature is not None:
            out[attr.FEATURE] = self.feature
        if self.agent_version is not None:
            out[attr.AGENT_VERSION] = self.agent_version
        return out


_NO_TAGS = Tags()
_current_tags: ContextVar[Tags] = ContextVar("turntrace_tags", default=_NO_TAGS)


def current_tags() -> Tags:
    return _current_tags.get()


@contextmanager
def tags(
    *,
    session_id: str | None = None,
    user_id: str | None = None,
    feature: str | None = None,
    agent_version: str | None = None,
) -> Generator[None, None, None]:
    """Tag every agent run started inside the block (below handler args and run metadata in precedence).

    >>> with tags(user_id="u-42", feature="support-bot"):
    ...     pass  # agent.invoke(...) here is tagged user.id=u-42, turntrace.feature=support-bot
    """
    given = Tags(session_id, user_id, feature, agent_version)
    token = _current_tags.set(replace(given.or_else(_current_tags.get())))
    try:
        yield
    finally:
        _current_tags.reset(token)
