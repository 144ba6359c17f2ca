"""``mlplab data download`` against a loopback HTTP server: verified files land, bad ones leave nothing."""

from __future__ import annotations

import dataclasses
import hashlib
import socket
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import numpy as np
import pytest

from conftest import require
from mlplab.cli import main
from mlplab.cli.environment import data_paths
from mlplab.data import download as dl
from mlplab.data import load_dataset, real

FASHION = Path("/usr/share/datasets/fashion-mnist")


class Server:
    """Serves ``files`` (name → Path or bytes) on 127.0.0.1; any other name is a 404. Counts requests."""

    def __init__(self) -> None:
        self.files: dict[str, Path | bytes] = {}
        self.requests: list[str] = []
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                name = self.path.rsplit("/", 1)[-1]
                owner.requests.append(name)
                body = owner.files.get(name)
                if body is None:
                    self.send_error(404, "File not found")
                    return
                data = body.read_bytes() if isinstance(body, Path) else body
                self.send_response(200)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/data/"
        self.thread = threading.Thread(target=self.httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def server() -> Iterator[Server]:
    s = Server()
    yield s
    s.close()


@pytest.fixture
def env(tmp_path, monkeypatch):
    """Cache in tmp; no $MLPLAB_DATA; the system folder of fashion-mnist hidden so the cache is what is found."""
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.delenv("MLPLAB_DATA", raising=False)
    spec = dataclasses.replace(real.IDX_DATASETS["fashion-mnist"], system_dir=str(tmp_path / "no-system"))
    monkeypatch.setitem(real.IDX_DATASETS, "fashion-mnist", spec)
    return tmp_path


def real_files() -> dict[str, Path]:
    require(FASHION.exists(), "Debian package dataset-fashion-mnist is not installed")
    return {name: FASHION / name for name in dl.file_names()}


def leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir()) if folder.exists() else []


def test_known_checksums_include_the_debian_files():
    for name, path in real_files().items():
        assert hashlib.sha256(path.read_bytes()).hexdigest() in dl.CHECKSUMS["fashion-mnist"][name]


def test_download_to_cache_then_load(server, env, capsys):
    server.files.update(real_files())
    assert main(["data", "download", "fashion-mnist", "--base-url", server.url, "-q"]) == 0
    cache = env / "cache" / "mlplab" / "fashion-mnist"
    assert capsys.readouterr().out.strip() == str(cache)
    assert leftovers(cache) == sorted(dl.file_names())  # the four files, no temporary left
    for name in dl.file_names():
        assert (cache / name).read_bytes() == (FASHION / name).read_bytes()
    ds = load_dataset("fashion-mnist", n_samples=500, data_paths=data_paths())  # what the CLI reads: the tmp cache
    assert ds.meta["source"] == str(cache) and ds.X.shape == (500, 784) and ds.X_test.shape == (10000, 784)
    # a second run finds verified files and fetches nothing
    server.requests.clear()
    assert main(["data", "download", "fashion-mnist", "--base-url", server.url]) == 0
    assert server.requests == [] and "already present, checksum ok" in capsys.readouterr().out


def test_download_to_dest_replaces_a_bad_copy(server, env):
    files = real_files()
    server.files.update(files)
    dest = env / "mine"
    dest.mkdir()
    (dest / "t10k-labels-idx1-ubyte.gz").write_bytes(b"stale partial download")
    assert main(["data", "download", "fashion-mnist", "--dest", str(dest), "--base-url", server.url, "-q"]) == 0
    assert (dest / "t10k-labels-idx1-ubyte.gz").read_bytes() == files["t10k-labels-idx1-ubyte.gz"].read_bytes()
    ds = load_dataset("fashion-mnist", data_dir=str(dest))
    assert ds.meta["source"] == str(dest)
    np.testing.assert_array_equal(np.bincount(ds.y_test), [1000] * 10)


def test_checksum_mismatch_leaves_nothing(server, env, capsys):
    files = real_files()
    server.files.update(files)
    damaged = bytearray(files["t10k-labels-idx1-ubyte.gz"].read_bytes())
    damaged[100] ^= 1
    server.files["t10k-labels-idx1-ubyte.gz"] = bytes(damaged)  # the last of the four files
    dest = env / "new"
    code = main(["data", "download", "fashion-mnist", "--dest", str(dest), "--base-url", server.url])
    err = capsys.readouterr().err.splitlines()
    assert code == 2 and len(err) == 1 and err[0].startswith("mlplab: error: ")
    assert "t10k-labels-idx1-ubyte.gz: checksum mismatch" in err[0]
    assert not dest.exists()  # all or nothing: the three good files are not kept either
    assert len(server.requests) == 4


def test_checksum_mismatch_in_existing_folder_writes_nothing(server, env, capsys):
    server.files["train-images-idx3-ubyte.gz"] = b"\x1f\x8b not the real file"
    dest = env / "existing"
    dest.mkdir()
    (dest / "keep.txt").write_text("user file")
    assert main(["data", "download", "mnist", "--dest", str(dest), "--base-url", server.url]) == 2
    assert "checksum mismatch" in capsys.readouterr().err
    assert leftovers(dest) == ["keep.txt"]


def test_http_404_is_one_line(server, env, capsys):
    dest = env / "d"
    assert main(["data", "download", "mnist", "--dest", str(dest), "--base-url", server.url]) == 2
    err = capsys.readouterr().err.splitlines()
    assert len(err) == 1 and "HTTP error 404" in err[0] and "train-images-idx3-ubyte.gz" in err[0]
    assert not dest.exists()


def test_silent_server_times_out(env, capsys):
    with socket.socket() as listener:  # accepts connections (backlog) but never answers
        listener.bind(("127.0.0.1", 0))
        listener.listen(4)
        url = f"http://127.0.0.1:{listener.getsockname()[1]}/"
        code = main(["data", "download", "mnist", "--dest", str(env / "t"), "--base-url", url, "--timeout", "0.5"])
    err = capsys.readouterr().err.splitlines()
    assert code == 2 and len(err) == 1 and "timed out" in err[0]
    assert not (env / "t").exists()


def test_bad_base_url_and_unknown_dataset(env, capsys):
    assert main(["data", "download", "mnist", "--base-url", "ftp://example.org/"]) == 2
    assert main(["data", "download", "digits"]) == 2
    err = capsys.readouterr().err.splitlines()
    assert len(err) == 2 and "http://" in err[0] and "digits" in err[1]
