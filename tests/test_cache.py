"""The on-disk cache trusts an entry only when its header proves this code wrote it for this key.

Every damaged, tampered or foreign entry must be rebuilt with a warning and never be
unpickled: the tampered payloads here record it if they are ever loaded.
"""

from __future__ import annotations

import json
import pickle
from pathlib import Path

import pytest

from footprint import _cache
from footprint._cache import MAGIC, CacheWarning, atomic_write_bytes, cached

LOADED: list[str] = []


def _record(tag: str) -> str:
    LOADED.append(tag)
    return tag


class Evil:
    """Unpickling this runs ``_record``: proof that an entry was loaded."""

    def __reduce__(self):
        return (_record, ("evil",))


@pytest.fixture(autouse=True)
def cache_folder(tmp_path, monkeypatch) -> Path:
    folder = tmp_path / "cache"
    monkeypatch.setenv(_cache.ENV_VAR, str(folder))
    LOADED.clear()
    return folder


def builder(value):
    calls: list[int] = []

    def build():
        calls.append(1)
        return value

    build.calls = calls  # type: ignore[attr-defined]
    return build


def entry(folder: Path, key: str = "k") -> Path:
    (path,) = folder.glob(f"{key}-v*.pickle")
    return path


def split(data: bytes) -> tuple[dict, bytes]:
    n = int.from_bytes(data[len(MAGIC) : len(MAGIC) + 4], "big")
    start = len(MAGIC) + 4
    return json.loads(data[start : start + n]), data[start + n :]


def join(header: dict, payload: bytes) -> bytes:
    h = json.dumps(header, sort_keys=True).encode()
    return MAGIC + len(h).to_bytes(4, "big") + h + payload


def test_a_warm_entry_is_read_back_without_building(cache_folder):
    first = builder({"codes": ["00C", "01A"]})
    assert cached("k", first) == {"codes": ["00C", "01A"]}
    again = builder("never used")
    assert cached("k", again) == {"codes": ["00C", "01A"]}
    assert first.calls == [1] and again.calls == []


def test_the_entry_carries_magic_versions_and_the_payload_digest(cache_folder):
    cached("k", builder([1, 2, 3]))
    path = entry(cache_folder)
    assert path.name == f"k-v{_cache.CACHE_VERSION}-{_cache.code_version()}.pickle"
    data = path.read_bytes()
    assert data.startswith(MAGIC)
    header, payload = split(data)
    assert header["format"] == _cache.CACHE_FORMAT
    assert header["cache_version"] == _cache.CACHE_VERSION
    assert header["code"] == _cache.code_version() and header["key"] == "k"
    assert header["package"] and header["bytes"] == len(payload)
    import hashlib

    assert header["sha256"] == hashlib.sha256(payload).hexdigest()
    assert pickle.loads(payload) == [1, 2, 3]


def _tamper(path: Path, how: str) -> None:
    data = path.read_bytes()
    header, payload = split(data)
    evil = pickle.dumps(Evil())
    if how == "payload":  # the payload replaced (its length updated, not its digest)
        path.write_bytes(join({**header, "bytes": len(evil)}, evil))
    elif how == "package":  # a header claiming another release
        path.write_bytes(join({**header, "package": "0.0.0-other"}, payload))
    elif how == "cache_version":
        path.write_bytes(join({**header, "cache_version": "1"}, payload))
    elif how == "code":
        path.write_bytes(join({**header, "code": "0" * 16}, payload))
    elif how == "key":  # another key's entry copied under this name
        path.write_bytes(join({**header, "key": "other"}, payload))
    elif how == "truncated":
        path.write_bytes(data[: len(data) - 3])
    elif how == "header-cut":
        path.write_bytes(data[: len(MAGIC) + 10])
    elif how == "header-garbage":
        n = len(MAGIC) + 4
        path.write_bytes(data[:n] + b"\xff" * (len(data) - n))
    elif how == "old-format":  # a bare pickle, as the cache wrote before headers
        path.write_bytes(evil)
    elif how == "bit-flip":
        flipped = bytearray(data)
        flipped[-1] ^= 0x01
        path.write_bytes(bytes(flipped))
    else:
        raise AssertionError(how)


@pytest.mark.parametrize(
    ("how", "why"),
    [
        ("payload", "fails its sha256 check"),
        ("bit-flip", "fails its sha256 check"),
        ("package", "has package '0.0.0-other' in its header"),
        ("cache_version", "has cache_version '1' in its header"),
        ("code", "has code '0000000000000000' in its header"),
        ("key", "has key 'other' in its header; expected 'k'"),
        ("truncated", "is truncated or padded"),
        ("header-cut", "is truncated or damaged"),
        ("header-garbage", "has an unreadable header"),
        ("old-format", "does not start with the cache's magic bytes"),
    ],
)
def test_a_damaged_or_tampered_entry_is_rebuilt_never_unpickled(cache_folder, how, why):
    cached("k", builder(["good"]))
    path = entry(cache_folder)
    _tamper(path, how)
    rebuild = builder(["rebuilt"])
    with pytest.warns(CacheWarning, match=f"cache entry .*k-v.*{why}.*it was not loaded"):
        assert cached("k", rebuild) == ["rebuilt"]
    assert rebuild.calls == [1]
    assert LOADED == []  # the tampered pickle never ran
    # the rebuilt entry replaced it and is trusted again, without a warning
    assert cached("k", builder("unused")) == ["rebuilt"]


def test_an_entry_of_other_code_is_a_plain_miss(cache_folder, monkeypatch):
    cached("k", builder("old code"))
    monkeypatch.setattr(_cache, "code_version", lambda: "feedfacefeedface")
    new = builder("new code")
    assert cached("k", new) == "new code"  # no warning: pytest turns one into an error
    assert new.calls == [1]
    assert len(list(cache_folder.glob("k-v*.pickle"))) == 2


def test_old_code_versions_are_pruned_per_key(cache_folder, monkeypatch):
    for i in range(5):
        monkeypatch.setattr(_cache, "code_version", lambda i=i: f"{i:016x}")
        cached("k", builder(i))
    cached("other", builder("x"))
    assert len(list(cache_folder.glob("k-v*.pickle"))) == _cache.KEEP_PER_KEY
    assert len(list(cache_folder.glob("other-v*.pickle"))) == 1


def test_the_code_version_covers_the_adjacency_and_audit_defaults():
    assert {"adjacency", "audit", "geography", "loader"} <= set(_cache.SHAPING_MODULES)
    assert len(_cache.code_version()) == 16


def test_disabled_cache_builds_and_stores_nothing(cache_folder):
    build = builder(1)
    assert cached("k", build, enabled=False) == 1
    assert not cache_folder.exists() or not any(cache_folder.iterdir())


def test_atomic_write_leaves_no_temporary_file(tmp_path):
    target = tmp_path / "a" / "b.bin"
    atomic_write_bytes(target, b"one")
    atomic_write_bytes(target, b"two")
    assert target.read_bytes() == b"two"
    assert [p.name for p in target.parent.iterdir()] == ["b.bin"]
    with pytest.raises(FileNotFoundError):
        atomic_write_bytes(tmp_path / "missing" / "x.bin", b"x", make_parents=False)
    assert not (tmp_path / "missing").exists()
