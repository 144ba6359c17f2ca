"""Named real datasets: digits, Fashion-MNIST from the Debian package, lookup order, subsampling."""

from __future__ import annotations

import dataclasses
import gzip
from pathlib import Path

import numpy as np
import pytest

from conftest import require
from idxutil import write_set
from mlplab.cli import main
from mlplab.cli.environment import data_paths
from mlplab.data import DataPaths, load_dataset, real, split
from mlplab.errors import ConfigError, DataError

FASHION = Path("/usr/share/datasets/fashion-mnist")
FASHION_CLASSES = ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag",
                   "Ankle boot"]


@pytest.fixture
def clean_env(monkeypatch, tmp_path):
    """No $MLPLAB_DATA, an empty cache (the default ~/.cache too: $HOME is a tmp folder), and the system folder
    of 'mnist' pointed at an empty tmp folder."""
    monkeypatch.delenv("MLPLAB_DATA", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    spec = dataclasses.replace(real.IDX_DATASETS["mnist"], system_dir=str(tmp_path / "system"))
    monkeypatch.setitem(real.IDX_DATASETS, "mnist", spec)
    return tmp_path


@pytest.fixture(scope="module")
def fashion():
    require(FASHION.exists(), "Debian package dataset-fashion-mnist is not installed (scripts/test.sh installs it)")
    return load_dataset("fashion-mnist", data_dir=str(FASHION))


def test_fashion_mnist_shapes_types_and_labels(fashion):
    ds = fashion
    assert ds.X.shape == (60000, 784) and ds.X.dtype == np.uint8
    assert ds.y.shape == (60000,) and ds.y.dtype == np.int64
    assert ds.X_test.shape == (10000, 784) and ds.X_test.dtype == np.uint8 and ds.y_test.dtype == np.int64
    assert ds.image_shape == (28, 28) and ds.class_names == FASHION_CLASSES and ds.n_outputs == 10
    # the published design: 6000 training and 1000 test images per class
    assert np.bincount(ds.y).tolist() == [6000] * 10 and np.bincount(ds.y_test).tolist() == [1000] * 10
    # pixels are the file's bytes after the 16-byte header (independent decode of the test images)
    raw = np.frombuffer(gzip.decompress((FASHION / "t10k-images-idx3-ubyte.gz").read_bytes()), np.uint8, offset=16)
    np.testing.assert_array_equal(ds.X_test, raw.reshape(10000, 784))
    assert 0 < ds.X.mean() < 255 and ds.X.max() == 255


def test_fashion_mnist_splits_to_standardised_float32(fashion):
    small = real.subsample(fashion, 2000, seed=0)
    s, _ = split(small, val_fraction=0.1, seed=0)
    assert s.X_train.dtype == np.float32 and len(s.X_train) + len(s.X_val) == 2000 and len(s.X_test) == 10000
    assert abs(float(s.X_train.mean())) < 1e-3


def test_subsample_is_stratified_seeded_and_a_subset(fashion):
    a = load_dataset("fashion-mnist", data_dir=str(FASHION), n_samples=1000, seed=1)
    b = load_dataset("fashion-mnist", data_dir=str(FASHION), n_samples=1000, seed=1)
    c = load_dataset("fashion-mnist", data_dir=str(FASHION), n_samples=1000, seed=2)
    assert a.X.shape == (1000, 784) and np.bincount(a.y).tolist() == [100] * 10
    np.testing.assert_array_equal(a.X, b.X)
    assert not np.array_equal(a.X, c.X)
    assert a.X_test.shape == (10000, 784)  # the test set is never subsampled
    # every kept row is a row of the full set with its own label
    full_rows = {row.tobytes(): label for row, label in zip(fashion.X, fashion.y, strict=True)}
    assert all(full_rows[row.tobytes()] == label for row, label in zip(a.X, a.y, strict=True))


def test_subsample_keeps_class_shares_with_uneven_classes():
    ds = real.load_digits()
    sub = real.subsample(ds, 100, seed=0)
    expected = np.bincount(ds.y) * 100 / len(ds.y)
    assert len(sub.y) == 100 and np.all(np.abs(np.bincount(sub.y) - expected) < 1)
    with pytest.raises(ConfigError, match="between 1 and the 1797"):
        real.subsample(ds, 5000)


def test_digits_matches_scikit_learn():
    from sklearn.datasets import load_digits

    ds = load_dataset("digits")
    ref = load_digits()
    assert ds.X.shape == (1797, 64) and ds.image_shape == (8, 8) and ds.n_outputs == 10
    np.testing.assert_array_equal(ds.X, ref.data)
    np.testing.assert_array_equal(ds.y, ref.target)
    assert ds.X_test is None


def test_lookup_order(clean_env):
    """data_dir, then the DataPaths folders, the system folder, the DataPaths cache."""
    tmp = clean_env
    write_set(tmp / "explicit", n_train=20)
    write_set(tmp / "env" / "mnist", n_train=30, gz=False)  # <dir>/<name>, raw files
    write_set(tmp / "system", n_train=40)
    write_set(tmp / "cache" / "mlplab" / "mnist", n_train=50)
    paths = DataPaths((tmp / "env",), tmp / "cache" / "mlplab")
    assert len(load_dataset("mnist", data_dir=str(tmp / "explicit"), data_paths=paths).X) == 20
    assert len(load_dataset("mnist", data_paths=paths).X) == 30
    no_folders = DataPaths(cache=tmp / "cache" / "mlplab")
    assert len(load_dataset("mnist", data_paths=no_folders).X) == 40
    for f in (tmp / "system").iterdir():
        f.unlink()
    ds = load_dataset("mnist", data_paths=no_folders)
    assert len(ds.X) == 50 and ds.meta["source"] == str(tmp / "cache" / "mlplab" / "mnist")
    assert ds.image_shape == (4, 4) and ds.X.shape[1] == 16 and ds.class_names == [str(d) for d in range(10)]


def test_the_library_reads_no_variable_the_cli_reads_both(clean_env, monkeypatch, capsys):
    """$MLPLAB_DATA and $XDG_CACHE_HOME are read by the CLI (cli/environment.py) and passed in as DataPaths;
    the library's defaults (no extra folder, ~/.cache/mlplab) ignore them."""
    tmp = clean_env
    assert data_paths({}) == DataPaths() and DataPaths().cache == tmp / "home" / ".cache" / "mlplab"
    assert data_paths({"MLPLAB_DATA": str(tmp / "env"), "XDG_CACHE_HOME": str(tmp / "xdg")}) == DataPaths(
        (tmp / "env",), tmp / "xdg" / "mlplab")
    write_set(tmp / "env" / "mnist", n_train=30)
    write_set(tmp / "cache" / "mlplab" / "mnist", n_train=50)
    monkeypatch.setenv("MLPLAB_DATA", str(tmp / "env"))
    with pytest.raises(DataError, match="not found"):
        load_dataset("mnist")
    assert main(["data", "list"]) == 0
    assert str(tmp / "env" / "mnist") in capsys.readouterr().out
    monkeypatch.delenv("MLPLAB_DATA")
    assert main(["data", "list"]) == 0
    assert str(tmp / "cache" / "mlplab" / "mnist") in capsys.readouterr().out


def test_missing_dataset_says_where_it_looked(clean_env):
    with pytest.raises(DataError) as e:
        load_dataset("mnist", data_dir=str(clean_env / "nowhere"))
    msg = str(e.value)
    assert "\n" not in msg and "mlplab data download mnist" in msg
    for folder in real.search_dirs("mnist", str(clean_env / "nowhere")):
        assert str(folder) in msg


def test_incomplete_folder_names_the_missing_file(clean_env):
    paths = write_set(clean_env / "partial")
    paths["test_labels"].unlink()
    with pytest.raises(DataError, match="missing t10k-labels-idx1-ubyte"):
        load_dataset("mnist", data_dir=str(clean_env / "partial"))


def test_dotted_mirror_names_are_found(clean_env):
    paths = write_set(clean_env / "dotted")
    for p in paths.values():
        p.rename(p.with_name(p.name.replace("-idx", ".idx")))
    assert len(load_dataset("mnist", data_dir=str(clean_env / "dotted")).X) == 40
