"""Input hashes and return-shape hashes, on plain values."""

from __future__ import annotations

import hashlib
import json
import tracemalloc
from typing import Any

from langchain_turntrace.hashing import InputHasher, shape_hash, shape_of


def test_input_hash_ignores_key_order_and_sees_values() -> None:
    hasher = InputHasher(None)
    assert hasher.hash({"a": 1, "b": [1, 2]}) == hasher.hash({"b": [1, 2], "a": 1})
    assert hasher.hash({"a": 1}) != hasher.hash({"a": 2})


def test_input_hash_of_a_large_string_streams_and_matches_sha256() -> None:
    big = "x" * 10_000_000
    assert InputHasher(None).hash(big) == hashlib.sha256(big.encode()).hexdigest()


def test_input_hash_survives_unencodable_and_cyclic_values() -> None:
    cyclic: list[Any] = []
    cyclic.append(cyclic)
    hasher = InputHasher(None)
    assert len(hasher.hash(cyclic)) == 64
    assert len(hasher.hash({"when": object()})) == 64


def test_shape_is_structure_not_values() -> None:
    assert shape_hash({"temp": 21, "tags": ["a"]}) == shape_hash({"tags": ["b", "c"], "temp": 3.5})
    assert shape_hash({"temp": 21}) != shape_hash({"temp": "21"})
    assert shape_hash({"temp": 21}) != shape_hash({"temp": 21, "unit": "C"})
    assert shape_of([{"a": 1}, {"a": 2}, {"b": None}]) == [{"a": "number"}, {"b": "null"}]


def test_shape_of_a_huge_list_looks_at_a_bounded_sample() -> None:
    assert shape_of(list(range(1_000_000))) == ["number"]


def test_a_large_string_inside_an_input_costs_one_escaped_copy_at_most() -> None:
    value = {"a": 1, "blob": "x" * 10_000_000}
    hasher = InputHasher(None)
    tracemalloc.start()
    try:
        digest = hasher.hash(value)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    canonical = json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    assert digest == hashlib.sha256(canonical.encode()).hexdigest()
    assert peak < 12_000_000  # json's escaped copy of the 10 MB string; joining pieces once cost 30 MB here


def test_the_one_shot_path_for_small_inputs_hashes_exactly_as_the_streamed_path() -> None:
    hasher = InputHasher(None)
    values: list[Any] = [
        {"b": [1, 2.5, None, True], "a": {"z": "ünïcode \u2028", "y": -3}},
        [{"k": "v"}, [], {}],
        {"when": object(), "raw": b"\x00\x01", "tags": {"x"}},
        {"a": "\ud800"},  # a lone surrogate, as a badly decoded input may hold
    ]
    for value in values:
        assert hasher.hash(value, size_hint=10) == hasher.hash(value)
    keyed = InputHasher(b"0123456789abcdef")
    assert keyed.hash(values[0], size_hint=10) == keyed.hash(values[0]) != hasher.hash(values[0])
