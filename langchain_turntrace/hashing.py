"""Content-free fingerprints of tool calls: a (keyed) hash of the input, a hash of the output's shape."""

from __future__ import annotations

import dataclasses
import hashlib
import hmac
import json
from collections.abc import Callable, Mapping, Sequence
from typing import Any, cast

_MAX_SHAPE_DEPTH = 32
_MAX_SHAPE_ITEMS = 64  # elements of a list looked at for its shape; a 10 MB list costs no more than 64 items
_CHUNK = 1 << 16
_ONE_SHOT_MAX = 1 << 22  # below 4 MiB of JSON, json's C encoder in one go; its copies are bounded by this


def _jsonable(obj: Any) -> Any:
    dump = getattr(obj, "model_dump", None)  # pydantic models, LangChain messages
    if callable(dump):
        return dump(mode="json")
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        return dataclasses.asdict(obj)
    if isinstance(obj, (set, frozenset)):
        return sorted(map(str, cast("set[object]", obj)))
    if isinstance(obj, bytes):
        return obj.hex()
    return f"<{type(obj).__qualname__}>{obj}"


_ENCODER = json.JSONEncoder(sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=_jsonable)


def _one_shot_encoder() -> Callable[[object], str]:
    """``_ENCODER.encode``, without the three Python calls and the new C encoder it makes per value: json's C
    encoder made once (no cycle markers, so it is shareable across threads; a cycle ends in RecursionError)."""
    try:
        from _json import encode_basestring, make_encoder

        encode = make_encoder(None, _jsonable, encode_basestring, None, ":", ",", True, False, True)
    except (ImportError, TypeError):  # another Python's json: the public path gives the same text, slower
        return _ENCODER.encode

    def one_shot(value: object) -> str:
        chunks: Sequence[str] = encode(value, 0)
        return "".join(chunks)

    return one_shot


_encode = _one_shot_encoder()


class InputHasher:
    """SHA-256 of an input's canonical JSON, or HMAC-SHA-256 under a key so guesses cannot be checked.

    >>> InputHasher(None).hash({"b": 1, "a": [1, 2]}) == InputHasher(None).hash({"a": [1, 2], "b": 1})
    True
    """

    __slots__ = ("_key",)

    def __init__(self, key: bytes | None) -> None:
        self._key = key

    def hash(self, value: object, size_hint: int | None = None) -> str:
        """``size_hint``: about how many characters the value's JSON has (a tool's ``input_str`` says); below
        4 MiB the value is encoded in one go by json's C encoder, many times faster than streaming it."""
        digest = hmac.new(self._key, digestmod=hashlib.sha256) if self._key else hashlib.sha256()
        try:
            if size_hint is not None and size_hint < _ONE_SHOT_MAX and not isinstance(value, str):
                digest.update(_encode(value).encode("utf-8", "surrogatepass"))
            else:
                _feed(digest, value)
        except Exception:  # noqa: BLE001  # cyclic, unencodable, a __str__ that raises: hash what we can say of it
            digest = hmac.new(self._key, digestmod=hashlib.sha256) if self._key else hashlib.sha256()
            digest.update(f"<unencodable {type(value).__qualname__}>".encode())
        return digest.hexdigest()


def _feed(digest: Any, value: object) -> None:
    # Streamed in chunks: a 10 MB input costs its one JSON-escaped copy (json's encoder makes that), no more.
    if isinstance(value, str):
        _feed_slices(digest, value)
        return
    buffer: list[str] = []
    size = 0
    for piece in _ENCODER.iterencode(value):
        if len(piece) >= _CHUNK:  # a big string value: never joined with its neighbours into yet another copy
            digest.update("".join(buffer).encode("utf-8", "surrogatepass"))
            buffer.clear()
            size = 0
            _feed_slices(digest, piece)
            continue
        buffer.append(piece)
        size += len(piece)
        if size >= _CHUNK:
            digest.update("".join(buffer).encode("utf-8", "surrogatepass"))
            buffer.clear()
            size = 0
    digest.update("".join(buffer).encode("utf-8", "surrogatepass"))


def _feed_slices(digest: Any, text: str) -> None:
    for start in range(0, len(text), _CHUNK):
        digest.update(text[start : start + _CHUNK].encode("utf-8", "surrogatepass"))


def shape_of(value: object, depth: int = 0) -> object:
    """The structure of a value (types and keys, never values), as a JSON-able tree."""
    if depth >= _MAX_SHAPE_DEPTH:
        return "…"
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, (int, float)):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, Mapping):
        mapping = cast("Mapping[object, object]", value)
        return {str(key): shape_of(item, depth + 1) for key, item in mapping.items()}
    if isinstance(value, (list, tuple)):
        shapes: dict[str, object] = {}
        for index, item in enumerate(cast("Sequence[object]", value)):
            if index >= _MAX_SHAPE_ITEMS:
                break
            shape = shape_of(item, depth + 1)
            shapes.setdefault(json.dumps(shape, sort_keys=True), shape)
        return [shapes[key] for key in sorted(shapes)]
    dump = getattr(value, "model_dump", None)
    if callable(dump):
        try:
            return shape_of(dump(), depth + 1)
        except Exception:  # noqa: BLE001 - a model that cannot dump still has a type name
            pass
    return type(value).__qualname__


_SCALAR_SHAPE_HASHES: dict[str, str] = {}  # "string", "number", a type's name: few, and asked for often
_MAX_SCALAR_SHAPES = 1024


def shape_hash(value: object) -> str:
    """SHA-256 of the value's shape: equal for outputs of the same structure, new when the structure changes."""
    shape = shape_of(value)
    if isinstance(shape, str):
        cached = _SCALAR_SHAPE_HASHES.get(shape)
        if cached is None:
            cached = _digest_of_shape(shape)
            if len(_SCALAR_SHAPE_HASHES) < _MAX_SCALAR_SHAPES:
                _SCALAR_SHAPE_HASHES[shape] = cached
        return cached
    return _digest_of_shape(shape)


def _digest_of_shape(shape: object) -> str:
    return hashlib.sha256(json.dumps(shape, sort_keys=True, separators=(",", ":")).encode()).hexdigest()
