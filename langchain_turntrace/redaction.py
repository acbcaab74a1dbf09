"""Credentials never leave the process: what looks like one, in a key name, a value or free text (an error message
that quotes the key it was given), is left out or replaced by ``[redacted]``."""

from __future__ import annotations

import re
from typing import Final

# A key whose last word names a secret, one or several: openai_api_key, api_keys, x-api-key, client_secret,
# "client secret", db_password, access_token, refresh_tokens, Authorization, Cookies. Not ls_max_tokens, tokens
# (a count, as often as not), tokenizer, prompt_token_count, author or oauth_provider.
SECRET_KEY: Final = re.compile(
    r"(?:^|[_\-.\s])(?:api[_\-]?keys?|apikeys?|keys?|secrets?|passw(?:or)?ds?|passwds?|credentials?|authorization|"
    r"auth|token|(?:access|refresh|id|auth|session|bearer)[_\-]?tokens?|private[_\-]?keys?|cookies?|signatures?)$",
    re.IGNORECASE,
)
"""A key naming a secret (its last word): ``SECRET_KEY.search(key)``."""

# Shapes of credentials whatever surrounds them: OpenAI/Anthropic (sk-...), LangSmith (lsv2_...), Google (AIza...),
# AWS access keys, GitHub and Slack tokens, JWTs, bearer and basic authorization.
_SHAPES: Final = (
    r"\b(?:sk|pk|rk)[-_][A-Za-z0-9_\-]{8,}",
    r"\blsv2_[A-Za-z0-9_]{8,}",
    r"\bAIza[0-9A-Za-z_\-]{20,}",
    r"\bAKIA[0-9A-Z]{16}\b",
    r"\bgh[pousr]_[A-Za-z0-9]{20,}",
    r"\bxox[abpr]-[A-Za-z0-9-]{10,}",
    r"\beyJ[A-Za-z0-9_\-]{8,}\.[A-Za-z0-9_\-]{8,}\.[A-Za-z0-9_\-]*",
    r"(?i:\b(?:bearer|basic)\s+)[A-Za-z0-9._\-+/=]{8,}",
)
_IN_TEXT: Final = re.compile("|".join(_SHAPES))
# key=value, key: value, "key": "value", key='value' where the key names a secret (any identifier ending so).
_LABELLED: Final = re.compile(
    r"(?i)\b([A-Za-z0-9_\-]*(?:api[_\-]?key|apikey|secret|passw(?:or)?d|token|credentials?)\b['\"]?)"
    r"(\s*[:=]\s*['\"]?)[^\s'\",;&}]{4,}"
)
_URL_PASSWORD: Final = re.compile(r"(://[^/\s:@]+:)[^/\s@]+@")  # scheme://user:password@host
REDACTED: Final = "[redacted]"


def looks_secret(value: str) -> bool:
    """A whole value shaped like a credential."""
    return _IN_TEXT.match(value) is not None


def redacted(text: str) -> str:
    """``text`` with every credential in it replaced by ``[redacted]``."""
    text = _URL_PASSWORD.sub(rf"\1{REDACTED}@", text)
    text = _LABELLED.sub(lambda m: f"{m.group(1)}{m.group(2)}{REDACTED}", text)
    return _IN_TEXT.sub(REDACTED, text)
