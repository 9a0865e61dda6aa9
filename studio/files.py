"""Files every layer writes: atomic replacement and SHA-256 digests. Standard library only.

The one atomic writer of the project. A file is written under a temporary name beside its final
path (`.NAME.<random>.partial.SUFFIX`: same folder, so the rename is atomic; same suffix, so
writers that pick a format by the file name, such as image exporters, still work), flushed to
disk, then renamed over the final path. A crash or an exception while writing leaves the previous
file (if any) untouched; an exception removes the temporary file, and a killed process leaves one
that `is_partial` recognises (the dataset generator cleans those up when it resumes).
"""
from __future__ import annotations

import contextlib
import errno
import hashlib
import os
import secrets
from pathlib import Path

PARTIAL_MARK = ".partial"  # in every temporary name: `is_partial` finds what a killed writer left


def is_partial(name) -> bool:
    """True for the name of a temporary file an atomic write left behind (hidden, with PARTIAL_MARK)."""
    name = Path(name).name
    return name.startswith(".") and PARTIAL_MARK in name


@contextlib.contextmanager
def atomic_write(path):
    """Yield a temporary path beside `path` to write to; on normal exit it replaces `path`
    (flushed to disk first), on error it is removed and `path` is left as it was.

    Permissions: those of the file it replaces, else 0644."""
    path = Path(path)
    folder = path.parent if str(path.parent) else Path(".")
    stem = path.name[: -len(path.suffix)] if path.suffix else path.name
    while True:
        tmp = folder / f".{stem}.{secrets.token_hex(4)}{PARTIAL_MARK}{path.suffix}"
        try:
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            break
        except FileExistsError:
            continue
    os.close(fd)
    try:
        os.chmod(tmp, path.stat().st_mode & 0o777 if path.exists() else 0o644)
        yield tmp
        _fsync(tmp)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


def writable_problem(path) -> str | None:
    """Why `path` cannot be written by `atomic_write` (one line), or None when it can: checked before a
    long job so that a missing or read-only folder is said at once, not after the work is done."""
    path = Path(path)
    folder = path.parent if str(path.parent) else Path(".")
    if path.is_dir():
        return f"{path} is a folder; give a file name in it"
    if not folder.exists():
        return f"folder {folder} does not exist; create it or choose another place"
    if not folder.is_dir():
        return f"{folder} is not a folder"
    probe = folder / f".{secrets.token_hex(4)}{PARTIAL_MARK}.check"
    try:  # the real test: create (and remove) a temporary file where the atomic writer will
        fd = os.open(probe, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except OSError as exc:
        return f"cannot write in folder {folder} ({exc.strerror or exc})"
    os.close(fd)
    with contextlib.suppress(OSError):
        os.unlink(probe)
    return None


def atomic_write_bytes(path, data: bytes) -> Path:
    """Write bytes to `path` atomically; returns the path."""
    with atomic_write(path) as tmp:
        with open(tmp, "wb") as fh:
            fh.write(data)
    return Path(path)


def atomic_write_text(path, text: str) -> Path:
    """Write UTF-8 text to `path` atomically; returns the path."""
    return atomic_write_bytes(path, text.encode("utf-8"))


def _fsync(path) -> None:
    """Flush a written file to disk; a full disk or an I/O error here is an error of the write."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    except OSError as exc:
        if exc.errno not in (errno.EINVAL, errno.ENOTSUP, errno.EBADF):  # file systems without fsync
            raise
    finally:
        os.close(fd)


def cache_folder(name: str) -> Path:
    """The studio's cache folder `name` (not created): $XDG_CACHE_HOME, else ~/.cache, /friction-studio/NAME.
    Compiled programs (studio.physics.enable_compilation_cache) and design maps (studio.design.map) live there."""
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "friction-studio" / name


def config_folder() -> Path:
    """The studio's settings folder (not created): $XDG_CONFIG_HOME, else ~/.config, /friction-studio.
    The user's saved material presets (studio.state.material) live there."""
    base = os.environ.get("XDG_CONFIG_HOME") or os.path.join(os.path.expanduser("~"), ".config")
    return Path(base) / "friction-studio"


def sha256_bytes(data: bytes) -> str:
    """SHA-256 hex digest of bytes."""
    return hashlib.sha256(data).hexdigest()


def sha256_file(path) -> str:
    """SHA-256 hex digest of a file, read in 1 MiB blocks."""
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()
