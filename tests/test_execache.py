"""The executable cache: atomic stores, least recently used first out, private."""

from __future__ import annotations

import os
import time

import pytest

from gorun_kernel.build.execache import FRESH, ExeCache, key
from gorun_kernel.errors import GorunError


def store(cache: ExeCache, key: str, size: int) -> None:
    d = cache.new_dir()
    (d / "prog").write_bytes(b"x" * size)
    cache.store(key, d / "prog")
    cache.discard(d)


def test_the_cache_keeps_to_its_size_bound_dropping_the_least_recently_used(tmp_path):
    cache = ExeCache(tmp_path, max_bytes=10_000)
    a, b, c, d = (key({"name": n}) for n in "abcd")  # the names the cache gives binaries
    for i, k in enumerate([a, b, c]):
        store(cache, k, 3_000)
        os.utime(cache.dir / k, (1000 + i, 1000 + i))
    assert cache.lookup(a) is not None  # used now: the most recent
    store(cache, d, 3_000)
    cache.prune()
    left = sorted(p.name for p in cache.dir.iterdir())
    assert a in left and d in left and b not in left
    assert sum((cache.dir / k).stat().st_size for k in left) <= 10_000


def test_a_lookup_stamps_a_binary_once_a_minute_not_at_every_re_run(tmp_path):
    cache = ExeCache(tmp_path)
    k = key({"name": "a"})
    store(cache, k, 10)
    path = cache.dir / k
    recent = time.time() - FRESH / 2  # used half a minute ago: stamped then, not again
    os.utime(path, (recent, recent))
    assert cache.lookup(k) == path
    assert abs(path.stat().st_mtime - recent) < 1e-3
    old = time.time() - FRESH * 2  # used two minutes ago: stamped now
    os.utime(path, (old, old))
    assert cache.lookup(k) == path
    assert path.stat().st_mtime > time.time() - FRESH / 2
    path.unlink()  # gone (pruned by another session, removed by hand): not found
    assert cache.lookup(k) is None


def test_a_cache_directory_others_can_write_is_refused(tmp_path):
    (tmp_path / "exe").mkdir(mode=0o777)
    os.chmod(tmp_path / "exe", 0o777)  # noqa: S103 - the unsafe directory under test
    with pytest.raises(GorunError, match="not private"):
        ExeCache(tmp_path)
