"""studio.files: the project's one atomic writer and its digests."""
import hashlib
import os

import pytest

from studio.files import atomic_write, atomic_write_bytes, atomic_write_text, is_partial, sha256_bytes, sha256_file


def test_the_temporary_file_sits_beside_the_target_keeps_its_suffix_and_is_recognised(tmp_path):
    target = tmp_path / "plot.png"
    with atomic_write(target) as tmp:
        assert tmp.parent == tmp_path and tmp.suffix == ".png" and is_partial(tmp.name)
        tmp.write_bytes(b"image")
        assert not target.exists()
    assert target.read_bytes() == b"image" and os.listdir(tmp_path) == ["plot.png"]
    assert not is_partial("plot.png") and not is_partial(".hidden.png")


def test_a_failed_write_keeps_the_previous_file_and_leaves_nothing_behind(tmp_path):
    target = tmp_path / "design.h5"
    target.write_bytes(b"previous")
    os.chmod(target, 0o640)
    with pytest.raises(RuntimeError):
        with atomic_write(target) as tmp:
            tmp.write_bytes(b"half")
            raise RuntimeError("crash while writing")
    assert target.read_bytes() == b"previous" and os.listdir(tmp_path) == ["design.h5"]
    atomic_write_text(target, "new")
    assert target.read_text() == "new" and (target.stat().st_mode & 0o777) == 0o640  # permissions kept


def test_digests(tmp_path):
    data = b"friction" * 100_000
    path = atomic_write_bytes(tmp_path / "blob", data)
    assert sha256_file(path) == sha256_bytes(data) == hashlib.sha256(data).hexdigest()


def test_cache_folders_live_under_the_users_cache(tmp_path, monkeypatch):
    from studio.files import cache_folder

    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    assert cache_folder("maps") == tmp_path / "friction-studio" / "maps" and not cache_folder("maps").exists()
    monkeypatch.delenv("XDG_CACHE_HOME")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert cache_folder("jax") == tmp_path / "home" / ".cache" / "friction-studio" / "jax"
