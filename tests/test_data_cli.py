"""``mlplab data list`` and ``mlplab data show``: what they print, and the figures they write."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import numpy as np
import pytest

from conftest import require
from idxutil import write_set
from mlplab.cli import main
from mlplab.data import LOADERS, load_dataset, real

FASHION = Path("/usr/share/datasets/fashion-mnist")
PNG = b"\x89PNG\r\n\x1a\n"


@pytest.fixture
def env(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.delenv("MLPLAB_DATA", raising=False)
    spec = dataclasses.replace(real.IDX_DATASETS["mnist"], system_dir=str(tmp_path / "no-system"))
    monkeypatch.setitem(real.IDX_DATASETS, "mnist", spec)
    return tmp_path


def rows(out: str) -> dict[str, str]:
    return {line.split()[0]: line for line in out.splitlines()[1:] if line.strip() and not line.startswith("Also")}


def test_list_names_every_dataset_and_where_it_is(env, capsys):
    require(FASHION.exists(), "Debian package dataset-fashion-mnist is not installed")
    assert main(["data", "list"]) == 0
    table = rows(capsys.readouterr().out)
    assert set(table) == set(LOADERS)
    assert str(FASHION) in table["fashion-mnist"] and "MB" in table["fashion-mnist"]
    assert "not found" in table["mnist"] and "mlplab data download mnist" in table["mnist"]
    # --data-dir is honoured
    write_set(env / "here")
    assert main(["data", "list", "--data-dir", str(env / "here")]) == 0
    assert str(env / "here") in rows(capsys.readouterr().out)["mnist"]


def test_show_digits_counts_and_image_grid(env, capsys):
    assert main(["data", "show", "digits", "--out", "grid.png", "--per-class", "3"]) == 0
    out = capsys.readouterr().out
    counts = np.bincount(load_dataset("digits").y)
    assert "1797 examples × 64 features" in out and "images 8×8" in out
    assert "counts      " + ", ".join(f"{k}: {c}" for k, c in enumerate(counts)) in out
    assert (env / "grid.png").read_bytes()[:8] == PNG
    assert [p.name for p in env.iterdir() if p.suffix == ".tmp"] == []


def test_show_fashion_mnist_default_output_name(env, capsys):
    require(FASHION.exists(), "Debian package dataset-fashion-mnist is not installed")
    assert main(["data", "show", "fashion-mnist", "--per-class", "2"]) == 0
    out = capsys.readouterr().out
    assert "T-shirt/top: 6000" in out and "Ankle boot: 1000" in out and "test set    10000" in out
    assert (env / "fashion-mnist-examples.png").read_bytes()[:8] == PNG


def test_show_two_d_scatter_and_csv_without_figure(env, capsys):
    assert main(["data", "show", "moons", "-o", "m.png"]) == 0
    assert (env / "m.png").read_bytes()[:8] == PNG
    (env / "three.csv").write_text("a,b,c,label\n1,2,3,x\n4,5,6,y\n7,8,9,x\n")
    assert main(["data", "show", "three.csv"]) == 0
    out = capsys.readouterr().out
    assert "3 examples × 3 features" in out and "x: 2, y: 1" in out and "figure      none" in out
    assert not (env / "three-examples.png").exists()


def test_show_bad_input_is_one_line_and_writes_nothing(env, capsys):
    (env / "bad.csv").write_text("a,b\n1,x\n")
    assert main(["data", "show", "bad.csv", "-o", "bad.png"]) == 2
    assert main(["data", "show", "mnist", "-o", "mnist.png"]) == 2
    err = capsys.readouterr().err.splitlines()
    assert len(err) == 2 and "bad.csv: every label is 'x'" in err[0] and "mlplab data download mnist" in err[1]
    assert not (env / "bad.png").exists() and not (env / "mnist.png").exists()


def test_train_on_csv_with_label_column_and_on_idx_with_data_dir(env):
    rng = np.random.default_rng(0)
    X = rng.normal(size=(120, 2))
    label = np.where(X[:, 0] > 0, "right", "left")
    lines = ["kind,x1,x2"] + [f"{k},{a:.6f},{b:.6f}" for k, (a, b) in zip(label, X, strict=True)]
    (env / "pts.csv").write_text("\n".join(lines) + "\n")
    assert main(["train", "-q", "-d", "pts.csv", "--label-column", "kind", "--epochs", "30", "--out", "o1"]) == 0
    metrics = json.loads((env / "o1" / "metrics.json").read_text())
    assert metrics["config"]["label_column"] == "kind" and metrics["test"]["accuracy"] > 0.8
    write_set(env / "idx", n_train=60, n_test=20)
    assert main(["train", "-q", "-d", "mnist", "--data-dir", str(env / "idx"), "--epochs", "1", "--out", "o2"]) == 0
    metrics = json.loads((env / "o2" / "metrics.json").read_text())
    assert metrics["config"]["data_dir"] == str(env / "idx") and metrics["sizes"][0] == 16
