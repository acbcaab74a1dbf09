"""Credentials never leave the process: what looks like one, in a key name, a value or free text (an error message
that quotes the key it was given), is left out or replaced by ``[redacted]``."""

from __future__ import annotations

import re
from typing import Final

SECRET_KEY: Final = re.compile(r"api[_-]?key|secret|passw(?:or)?d|credential|auth|private[_-]?key|token(?!s)", re.I)
"""A key naming a secret. "token" but not "tokens" (ls_max_tokens is a setting, access_token a secret); "auth"
catches authorization."""

# Shapes of credentials whatever surrounds them: OpenAI/Anthropic (sk-...), LangSmith (lsv2_...), AWS access keys,
# GitHub and Slack tokens, bearer headers, and key=value / key: value pairs naming a secret.
_IN_TEXT: Final = re.compile(
    r"\b(?:sk|pk|rk)[-_][A-Za-z0-9_\-]{8,}"
    r"|\blsv2_[A-Za-z0-9_]{8,}"
    r"|\bAKIA[0-9A-Z]{16}\b"
    r"|\bgh[pousr]_[A-Za-z0-9]{20,}"
    r"|\bxox[abpr]-[A-Za-z0-9-]{10,}"
    r"|(?i:\bbearer\s+)[A-Za-z0-9._\-+/=]{8,}"
)
_LABELLED: Final = re.compile(r"(?i)\b(api[_-]?key|token|secret|password)(\s*[:=]\s*)['\"]?[^\s'\",;&]{6,}")
REDACTED: Final = "[redacted]"


def looks_secret(value: str) -> bool:
    """A whole value shaped like a credential."""
    return _IN_TEXT.match(value) is not None


def redacted(text: str) -> str:
    """``text`` with every credential in it replaced by ``[redacted]``."""
    return _IN_TEXT.sub(REDACTED, _LABELLED.sub(lambda m: f"{m.group(1)}{m.group(2)}{REDACTED}", text))
