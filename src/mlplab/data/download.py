"""Download MNIST / Fashion-MNIST: the four .gz files, SHA-256 verified, written all-or-nothing.

Each file is streamed into a temporary file beside its destination while being hashed; only when all four
match a known digest are they renamed into place. A failure (network, HTTP status, size, checksum) removes
every temporary file, so nothing half-written or unverified is ever left where the loader would find it.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import tempfile
import urllib.error
import urllib.request
from collections.abc import Callable
from pathlib import Path

from mlplab.data.real import IDX_DATASETS, IDX_FILES, DataPaths
from mlplab.errors import ConfigError, DataError

# Accepted SHA-256 digests of each .gz file. MNIST: the digests published for the files on the standard
# mirrors (the same in torchvision / TFDS mirror lists). Fashion-MNIST: the digests published for the official
# files, and those of the Debian package dataset-fashion-mnist, which recompressed the same IDX data
# (its .gz bytes differ from upstream's; the decompressed IDX bytes are the data itself).
CHECKSUMS: dict[str, dict[str, tuple[str, ...]]] = {
    "mnist": {
        "train-images-idx3-ubyte.gz": ("440fcabf73cc546fa21475e81ea370265605f56be210a4024d2ca8f203523609",),
        "train-labels-idx1-ubyte.gz": ("3552534a0a558bbed6aed32b30c495cca23d567ec52cac8be1a0730e8010255c",),
        "t10k-images-idx3-ubyte.gz": ("8d422c7b0a1c1c79245a5bcf07fe86e33eeafee792b84584aec276f5a2dbc4e6",),
        "t10k-labels-idx1-ubyte.gz": ("f7ae60f92e00ec6debd23a6088c31dbd2371eca3ffa0defaefb259924204aec6",),
    },
    "fashion-mnist": {
        "train-images-idx3-ubyte.gz": ("08dc20ab1689590a0bcd66e874647b6ee8464e2d501b5a3f1f78831db19a3fdc",
                                       "b0564c3eedabfbf835052cff8503ea422014ce006caf5b757f851416ee8300c7"),
        "train-labels-idx1-ubyte.gz": ("b0197879cbda89f3dc7b894f9fd52b858e68ea4182b6947c9d8c2b67e5f18dcc",
                                       "0ae29f65d86684f32d1b9c85147786c547b9c6aebcaf235f0400a0cce308b056"),
        "t10k-images-idx3-ubyte.gz": ("78dcbbfb5a27efaf1b6c1d616caca68560be8766c5bffcb2791df9273a534229",
                                      "cc1d090a38ace84dfa1aa66e3ada7c336ef481a96936906477e6dd344da56eaa"),
        "t10k-labels-idx1-ubyte.gz": ("42bd18137a62d5998cdeae52bf3a0676ac6b706f5cf8439b47bb5b151ae3dccf",
                                      "8d3605d196f4be44669e46906da9733c8131fef761fdbfec72c424d5222f1a05"),
    },
}

MIRRORS: dict[str, tuple[str, ...]] = {
    "mnist": ("https://ossci-datasets.s3.amazonaws.com/mnist/", "https://storage.googleapis.com/cvdf-datasets/mnist/"),
    "fashion-mnist": ("https://raw.githubusercontent.com/zalandoresearch/fashion-mnist/master/data/fashion/",
                      "http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/"),
}

MAX_BYTES = 64 << 20  # the largest file is 26 MB; anything much bigger is not what we asked for
_BLOCK = 1 << 20

Report = Callable[[str], None]


def sha256_file(path: str | os.PathLike) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while block := f.read(_BLOCK):
            h.update(block)
    return h.hexdigest()


def file_names() -> list[str]:
    """The four .gz file names of a downloadable (IDX) dataset."""
    return [stem + ".gz" for stem in IDX_FILES.values()]


def _fetch(url: str, tmp: Path, timeout: float) -> str:
    """Stream ``url`` into ``tmp``; return its SHA-256. DataError (one line) on any network problem."""
    h = hashlib.sha256()
    try:
        with urllib.request.urlopen(url, timeout=timeout) as resp, open(tmp, "wb") as out:
            total = 0
            while block := resp.read(_BLOCK):
                total += len(block)
                if total > MAX_BYTES:
                    raise DataError(f"{url}: more than {MAX_BYTES >> 20} MB; not the expected file")
                h.update(block)
                out.write(block)
    except urllib.error.HTTPError as e:
        raise DataError(f"{url}: HTTP error {e.code} {e.reason}") from None
    except urllib.error.URLError as e:
        reason = e.reason if not isinstance(e.reason, TimeoutError) else f"timed out after {timeout:g} s"
        raise DataError(f"{url}: cannot download ({reason})") from None
    except TimeoutError:
        raise DataError(f"{url}: timed out after {timeout:g} s") from None
    except OSError as e:
        raise DataError(f"{url}: download failed ({e})") from None
    return h.hexdigest()


def download(name: str, dest: str | os.PathLike | None = None, base_url: str | None = None,
             timeout: float = 30.0, report: Report | None = None) -> list[Path]:
    """Fetch ``name``'s four files into ``dest`` (default: ``DataPaths().cache_dir(name)``, ~/.cache/mlplab/NAME;
    the CLI passes $XDG_CACHE_HOME's); return their paths.

    Files already present with a known checksum are kept. Mirrors are tried in order (or only ``base_url``).
    """
    if name not in CHECKSUMS:
        known = ", ".join(sorted(CHECKSUMS))
        raise ConfigError(f"cannot download {name!r}; downloadable datasets: {known}")
    if timeout <= 0:
        raise ConfigError(f"timeout must be > 0 seconds; got {timeout}")
    say = report or (lambda _msg: None)
    folder = Path(dest) if dest else DataPaths().cache_dir(name)
    if folder.exists() and not folder.is_dir():
        raise DataError(f"{folder}: exists and is not a folder")
    mirrors = (base_url,) if base_url else MIRRORS[name]
    for url in mirrors:
        if not url.lower().startswith(("http://", "https://", "file:")):
            raise ConfigError(f"base URL must start with http://, https:// or file:; got {url!r}")
    todo = []
    for fname in file_names():
        target = folder / fname
        if target.is_file() and sha256_file(target) in CHECKSUMS[name][fname]:
            say(f"{target}: already present, checksum ok")
        else:
            todo.append(fname)
    created = not folder.exists()
    folder.mkdir(parents=True, exist_ok=True)
    staged: list[tuple[Path, Path]] = []
    try:
        for fname in todo:
            fd, tmp_name = tempfile.mkstemp(prefix=f".{fname}.", suffix=".part", dir=folder)
            os.close(fd)
            tmp = Path(tmp_name)
            staged.append((tmp, folder / fname))
            _fetch_verified(name, fname, mirrors, tmp, timeout, say)
            os.chmod(tmp, 0o644)  # mkstemp makes 0600; a dataset is ordinary readable data
        for tmp, target in staged:
            os.replace(tmp, target)
    except BaseException:
        for tmp, _ in staged:
            with contextlib.suppress(FileNotFoundError):
                tmp.unlink()
        if created:
            with contextlib.suppress(OSError):
                folder.rmdir()
        raise
    return [folder / f for f in file_names()]


def _fetch_verified(name: str, fname: str, mirrors: tuple[str, ...], tmp: Path, timeout: float,
                    say: Report) -> None:
    """Fetch one file from the first mirror that serves it with a known checksum."""
    errors = []
    for base in mirrors:
        url = base.rstrip("/") + "/" + fname
        say(f"downloading {url}")
        try:
            digest = _fetch(url, tmp, timeout)
        except DataError as e:
            errors.append(str(e))
            continue
        if digest in CHECKSUMS[name][fname]:
            say(f"{fname}: checksum ok ({tmp.stat().st_size} bytes)")
            return
        errors.append(f"{url}: checksum mismatch (got sha256 {digest[:16]}…, expected "
                      f"{' or '.join(d[:16] + '…' for d in CHECKSUMS[name][fname])}); nothing written")
    raise DataError("; ".join(errors))


def describe(name: str) -> str:
    """One line about where ``name`` downloads from."""
    return f"{IDX_DATASETS[name].description}; mirrors: {', '.join(MIRRORS[name])}"
