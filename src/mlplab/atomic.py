"""Atomic file writes: write a temporary file in the target's folder, then rename it into place."""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import tempfile
from collections.abc import Iterator
from pathlib import Path

from mlplab.errors import ConfigError


def _new_file_beside(path: Path) -> Path:
    """Create an empty file with a fresh random name in ``path``'s folder, ending like ``path`` (writers that pick a
    format by suffix still work). Created with mode 0o666, so the kernel applies the process umask: the final file
    gets the usual permissions without mlplab ever reading or changing the umask (mkstemp would make it 0600).
    """
    for _ in range(100):
        tmp = path.with_name(f".{path.name}.{secrets.token_hex(6)}.tmp{path.suffix}")
        try:
            os.close(os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666))
        except FileExistsError:
            continue
        return tmp
    raise FileExistsError(f"no free temporary name beside {path}")


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; on success it replaces ``path``, on error it is removed."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = _new_file_beside(path)
    try:
        yield tmp
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


def check_writable(folder: str | os.PathLike, what: str = "output folder") -> None:
    """Fail now, in one ConfigError line, if files could not be written into ``folder`` later (before a long run).

    Creates nothing that stays: the nearest existing ancestor must be a folder that takes a temporary file.
    """
    folder = Path(folder)
    probe = folder
    while not probe.exists() and probe != probe.parent:
        probe = probe.parent
    if not probe.is_dir():
        raise ConfigError(f"{what} {folder}: {probe} is a file, not a folder")
    try:
        with tempfile.TemporaryFile(dir=probe):
            pass
    except OSError as e:
        raise ConfigError(f"{what} {folder}: cannot write in {probe} ({e.strerror or e})") from None


def write_text(path: str | os.PathLike, text: str) -> None:
    """Write ``text`` to ``path`` atomically."""
    with atomic_path(path) as tmp:
        tmp.write_text(text)


def write_json(path: str | os.PathLike, obj: object) -> None:
    """Write ``obj`` as indented JSON (NaN refused) atomically."""
    write_text(path, json.dumps(obj, indent=2, allow_nan=False) + "\n")
