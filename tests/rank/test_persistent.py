"""ChunkedList and LayeredIndex: versions that share storage behave exactly like copies."""

from __future__ import annotations

import random

import pytest

from tidings.rank.persistent import CHUNK, FLATTEN_MIN, ChunkedList, LayeredIndex


def test_a_chunked_list_reads_like_the_list_it_holds() -> None:
    items = list(range(2 * CHUNK + 5))
    chunked = ChunkedList(items)
    assert len(chunked) == len(items) and list(chunked) == items and chunked == items
    for index in (0, CHUNK - 1, CHUNK, len(items) - 1, -1, -CHUNK - 3):
        assert chunked[index] == items[index]
    assert chunked[CHUNK - 3 : CHUNK + 4] == items[CHUNK - 3 : CHUNK + 4]
    assert chunked[::-CHUNK] == items[::-CHUNK] and chunked[-2:] == items[-2:]
    for bad in (len(items), len(items) + CHUNK, -len(items) - 1):
        with pytest.raises(IndexError):
            chunked[bad]


def test_spliced_versions_share_untouched_chunks_and_never_change_the_original() -> None:
    rng = random.Random(7)
    model = [f"item {i}" for i in range(3 * CHUNK + 17)]
    versions = [(ChunkedList(model), list(model))]
    for step in range(40):
        current, expected = versions[-1]
        keep = len(expected) - rng.randint(0, 40)
        patches = {rng.randrange(keep): f"patch {step}.{k}" for k in range(rng.randint(0, 3))}
        tail = [f"tail {step}.{k}" for k in range(rng.randint(0, 60))]
        made = current.spliced(keep, tail, patches)
        want = expected[:keep]
        for index, item in patches.items():
            want[index] = item
        versions.append((made, want + tail))
        if not patches and keep >= CHUNK:
            assert made._chunks[0] is current._chunks[0]  # shared, not copied
    for made, want in versions:  # every older version still reads as it did when it was made
        assert list(made) == want and len(made) == len(want)
    assert ChunkedList(["a"]).extended(["b", "c"]) == ["a", "b", "c"]


def test_a_layered_index_matches_a_dict_through_updates_removals_and_flattening() -> None:
    rng = random.Random(3)
    model = {f"k{i}": i for i in range(1000)}
    index = LayeredIndex(dict(model))
    held = [(index, dict(model))]
    for step in range(30):  # enough changes to fold the top layer into the base more than once
        changes = {f"k{rng.randrange(3 * FLATTEN_MIN)}": step * 10_000 + k for k in range(400)}
        removed = {f"k{rng.randrange(3 * FLATTEN_MIN)}" for _ in range(60)}
        index = index.updated(changes, removed)
        for key in removed - changes.keys():
            model.pop(key, None)
        model.update(changes)
        held.append((index, dict(model)))
    for version, want in held:
        assert len(version) == len(want)
        assert dict(version.items()) == want and version == want
        assert all(version.get(key) == want.get(key) for key in ("k1", "k5000", "missing"))
        assert ("k1" in version) == ("k1" in want)
    with pytest.raises(KeyError):
        LayeredIndex({"a": 1}).updated({}, {"a"})["a"]
