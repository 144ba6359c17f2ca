"""User files: CSV (header detection, label column, label encoding) and NPZ (arrays, tasks, no unpickling)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from mlplab.data import load_dataset
from mlplab.errors import DataError


def write(tmp_path: Path, name: str, text: str) -> str:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return str(path)


def test_csv_round_trip_without_header(tmp_path):
    rng = np.random.default_rng(0)
    X = rng.normal(size=(50, 3))
    y = rng.integers(0, 4, 50)
    path = tmp_path / "plain.csv"
    np.savetxt(path, np.column_stack([X, y]), delimiter=",", fmt="%.17g")
    ds = load_dataset(str(path))
    np.testing.assert_array_equal(ds.X, X)
    np.testing.assert_array_equal(ds.y, np.unique(y, return_inverse=True)[1])
    assert ds.task == "classification" and ds.class_names == [str(v) for v in np.unique(y)]
    assert ds.name == "plain"


def test_csv_header_and_text_labels_sorted(tmp_path):
    path = write(tmp_path, "iris.csv", "sepal,petal,species\n1,2,virginica\n3,4,setosa\n5,6,versicolor\n7,8,setosa\n")
    ds = load_dataset(path)
    assert ds.class_names == ["setosa", "versicolor", "virginica"]
    assert ds.y.tolist() == [2, 0, 1, 0] and ds.X.tolist() == [[1, 2], [3, 4], [5, 6], [7, 8]]
    assert ds.meta["features"] == ["sepal", "petal"] and ds.meta["label"] == "species"


def test_csv_label_column_by_name_and_index(tmp_path):
    path = write(tmp_path, "t.csv", "cls,a,b\n7,1.5,2\n3,2.5,3\n7,3.5,4\n")
    by_name = load_dataset(path, label_column="cls")
    by_index = load_dataset(path, label_column="0")
    by_neg = load_dataset(path, label_column=-3)
    for ds in (by_name, by_index, by_neg):
        assert ds.class_names == ["3", "7"] and ds.y.tolist() == [1, 0, 1]
        assert ds.X.tolist() == [[1.5, 2], [2.5, 3], [3.5, 4]]


def test_csv_numeric_header_free_with_text_header_in_label_only(tmp_path):
    # a header whose feature names look numeric is still detected when the label switches text → number
    path = write(tmp_path, "n.csv", "1,2,label\n1,2,0\n3,4,1\n")
    ds = load_dataset(path)
    assert len(ds.X) == 2 and ds.y.tolist() == [0, 1]


def test_csv_float_labels_are_regression(tmp_path):
    path = write(tmp_path, "r.csv", "x,y\n0,0.5\n1,1.25\n2,-3\n")
    ds = load_dataset(path)
    assert ds.task == "regression" and ds.y.shape == (3, 1) and ds.y[:, 0].tolist() == [0.5, 1.25, -3]
    assert ds.class_names is None and ds.n_outputs == 1


def test_csv_semicolons_blank_lines_bom_and_line_numbers(tmp_path):
    path = tmp_path / "s.csv"
    path.write_bytes("\ufeffa;b;c\n\n1;2;x\n\n3;4;y\n5;oops;x\n".encode())
    with pytest.raises(DataError, match=r"line 6, column 'b': 'oops' is not a number"):
        load_dataset(str(path))
    path.write_bytes("\ufeffa;b;c\n\n1;2;x\n\n3;4;y\n".encode())
    ds = load_dataset(str(path))
    assert ds.X.tolist() == [[1, 2], [3, 4]] and ds.class_names == ["x", "y"]


def test_npz_classification_regression_and_text_labels(tmp_path):
    rng = np.random.default_rng(0)
    X = rng.normal(size=(30, 4))
    np.savez(tmp_path / "c.npz", X=X, y=np.arange(30) % 3 * 2.0)  # float but integer-valued
    ds = load_dataset(str(tmp_path / "c.npz"))
    assert ds.task == "classification" and ds.class_names == ["0", "2", "4"] and ds.y.tolist()[:4] == [0, 1, 2, 0]
    np.testing.assert_array_equal(ds.X, X)
    np.savez(tmp_path / "r.npz", X=X, y=rng.normal(size=30))
    assert load_dataset(str(tmp_path / "r.npz")).task == "regression"
    np.savez(tmp_path / "t.npz", X=X, y=np.array(["dog", "cat", "emu"] * 10))
    ds = load_dataset(str(tmp_path / "t.npz"))
    assert ds.class_names == ["cat", "dog", "emu"] and ds.y.tolist()[:3] == [1, 0, 2]


def test_npz_images_test_set_and_class_names(tmp_path):
    rng = np.random.default_rng(1)
    X = rng.integers(0, 255, (20, 5, 5), dtype=np.uint8)
    np.savez(tmp_path / "img.npz", X=X, y=np.arange(20) % 2, X_test=X[:6], y_test=np.arange(6) % 2,
             class_names=np.array(["even", "odd"]))
    ds = load_dataset(str(tmp_path / "img.npz"))
    assert ds.image_shape == (5, 5) and ds.X.shape == (20, 25) and ds.X.dtype == np.uint8
    assert ds.X_test.shape == (6, 25) and ds.y_test.tolist() == [0, 1, 0, 1, 0, 1]
    assert ds.class_names == ["even", "odd"]


class _Marker:
    """Unpickling this would create a file: proof that loading never unpickles."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def __reduce__(self):
        return (Path.touch, (self.path,))


def test_npz_with_pickled_objects_is_refused_and_not_executed(tmp_path):
    marker = tmp_path / "unpickled"
    np.savez(tmp_path / "evil.npz", X=np.array([_Marker(marker)] * 4, dtype=object), y=np.arange(4) % 2)
    assert not marker.exists()
    with pytest.raises(DataError, match="pickled Python objects; refused"):
        load_dataset(str(tmp_path / "evil.npz"))
    assert not marker.exists()


def test_file_datasets_subsample(tmp_path):
    rng = np.random.default_rng(0)
    np.savez(tmp_path / "s.npz", X=rng.normal(size=(100, 2)), y=np.arange(100) % 2)
    ds = load_dataset(str(tmp_path / "s.npz"), n_samples=20, seed=3)
    assert len(ds.X) == 20 and np.bincount(ds.y).tolist() == [10, 10]
