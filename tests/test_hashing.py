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
