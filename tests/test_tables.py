"""Tables: CSV through Arrow's reader, Parquet and Feather files, categorical columns (one-hot, stored in the
model file), missing cells (--impute, training statistics stored in the model file), predict-time parity, and
the same one-line errors as before, located in big files too."""

from __future__ import annotations

import codecs
import csv
import io
import json

import numpy as np
import pyarrow as pa
import pyarrow.feather as feather
import pyarrow.parquet as pq
import pytest

from mlplab.checkpoint import CHECKPOINT_FILE
from mlplab.cli import main
from mlplab.data import load_dataset, split
from mlplab.errors import DataError
from mlplab.modelfile import load_model, read_safetensors, write_safetensors

COLORS = ["red", "white", "blue"]


def make_table(n: int = 240, seed: int = 0, missing: bool = False) -> dict[str, list]:
    """x1, x2 numbers, color text, label yes/no (depends on x1 and color); a few missing cells if asked."""
    rng = np.random.default_rng(seed)
    x1, x2 = rng.normal(size=n), rng.normal(size=n)
    color = [COLORS[k] for k in rng.integers(0, 3, n)]
    label = ["yes" if a + (c == "red") * 1.5 > 0.5 else "no" for a, c in zip(x1, color, strict=True)]
    cols = {"x1": [float(v) for v in x1], "color": color, "x2": [float(v) for v in x2], "label": label}
    if missing:
        for r in range(3, n, 17):
            cols["x2"][r] = None
        for r in range(5, n, 29):
            cols["color"][r] = None
    return cols


def write_csv(path, cols: dict[str, list], drop: tuple[str, ...] = ()) -> None:
    names = [k for k in cols if k not in drop]
    with open(path, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(names)
        for r in range(len(cols[names[0]])):
            w.writerow(["" if cols[k][r] is None else cols[k][r] for k in names])


def predictions(capsys, model: str, path) -> list[dict]:
    capsys.readouterr()
    assert main(["predict", "-m", model, "-i", str(path)]) == 0
    return list(csv.DictReader(io.StringIO(capsys.readouterr().out)))


# -------------------------------------------------------------------------------------------- formats
def test_parquet_and_feather_load_like_the_csv(tmp_path):
    cols = make_table()
    write_csv(tmp_path / "t.csv", cols)
    pq.write_table(pa.table(cols), tmp_path / "t.parquet")
    feather.write_feather(pa.table(cols), tmp_path / "t.feather")
    feather.write_feather(pa.table(cols), tmp_path / "t.arrow")
    ref = load_dataset(str(tmp_path / "t.csv"))
    assert ref.X.shape == (240, 5) and ref.class_names == ["no", "yes"]
    assert ref.meta["features"] == ["x1", "color=blue", "color=red", "color=white", "x2"]
    for name in ("t.parquet", "t.feather", "t.arrow"):
        ds = load_dataset(str(tmp_path / name))
        np.testing.assert_array_equal(ds.X, ref.X)
        np.testing.assert_array_equal(ds.y, ref.y)
        assert ds.class_names == ref.class_names and ds.meta["features"] == ref.meta["features"]
        by_index = load_dataset(str(tmp_path / name), label_column="0")  # x1 as a regression target
        assert by_index.task == "regression" and by_index.y[:, 0].tolist() == cols["x1"]


def test_dictionary_encoded_parquet_column_is_categorical(tmp_path):
    cols = make_table()
    table = pa.table(cols)
    table = table.set_column(1, "color", pa.compute.dictionary_encode(table.column("color")))
    pq.write_table(table, tmp_path / "d.parquet")
    assert load_dataset(str(tmp_path / "d.parquet")).meta["features"][1:4] == ["color=blue", "color=red",
                                                                              "color=white"]


def test_csv_whitespace_tabs_quotes_and_delimiters(tmp_path):
    (tmp_path / "t.tsv").write_text("a\tb\tc\n 1.5 \t2\tx\n3\t 4e1\ty\n")
    ds = load_dataset(str(tmp_path / "t.tsv"))
    assert ds.X.tolist() == [[1.5, 2], [3, 40]] and ds.class_names == ["x", "y"]
    (tmp_path / "q.csv").write_text('name,v,label\n"Smith, J",1,a\n"Doe, A",2,b\n"Smith, J",3,a\n')
    ds = load_dataset(str(tmp_path / "q.csv"))
    assert ds.meta["features"] == ["name=Doe, A", "name=Smith, J", "v"] and ds.X[:, 2].tolist() == [1, 2, 3]


def test_headerless_table_with_a_text_column_is_data_not_a_header(tmp_path):
    (tmp_path / "h.csv").write_text("red,1.5,0\nwhite,2.5,1\nred,0.5,1\n")
    ds = load_dataset(str(tmp_path / "h.csv"))
    assert len(ds.X) == 3 and ds.meta["features"] == ["0=red", "0=white", "1"]


# ---------------------------------------------------------------------------------------- categorical
def test_categorical_modes(tmp_path):
    write_csv(tmp_path / "t.csv", make_table())
    with pytest.raises(DataError, match=r"t.csv: line 2, column 'color': '(red|white|blue)' is not a number"):
        load_dataset(str(tmp_path / "t.csv"), categorical="error")
    # a column of numbers with one word: an error in auto mode, categories in onehot mode
    (tmp_path / "m.csv").write_text("a,b,label\n1,2,x\n3,four,y\n5,2,x\n")
    with pytest.raises(DataError, match=r"line 3, column 'b': 'four' is not a number"):
        load_dataset(str(tmp_path / "m.csv"))
    ds = load_dataset(str(tmp_path / "m.csv"), categorical="onehot")
    assert ds.meta["features"] == ["a", "b=2", "b=four"] and ds.X.tolist() == [[1, 1, 0], [3, 0, 1], [5, 1, 0]]


@pytest.fixture(scope="module")
def table_model(tmp_path_factory):
    d = tmp_path_factory.mktemp("table")
    cols = make_table(missing=True)
    write_csv(d / "train.csv", cols)
    assert main(["train", "-q", "-d", str(d / "train.csv"), "--impute", "median", "--hidden", "8", "--epochs", "5",
                 "--out", str(d / "run"), "--save", str(d / "m.safetensors")]) == 0
    return d, cols


def test_encoding_and_imputation_are_stored_in_the_model_file(table_model):
    d, _ = table_model
    model = load_model(d / "m.safetensors")
    assert model.meta["encoding"] == {"columns": [{"name": "x1", "categories": None},
                                                  {"name": "color", "categories": ["blue", "red", "white"]},
                                                  {"name": "x2", "categories": None}]}
    assert model.features == ["x1", "color=blue", "color=red", "color=white", "x2"]
    # the imputed values are the medians of the training split only
    ds = load_dataset(str(d / "train.csv"), impute="median")
    assert np.isnan(ds.X).any()
    s, _ = split(ds, 0.2, 0.2, seed=0, scale=False, impute="median")
    train_rows = s.imputer.transform(ds.X[:0])  # nothing to fill
    assert train_rows.shape == (0, 5)
    from sklearn.model_selection import train_test_split

    rest, _, y_rest, _ = train_test_split(ds.X, ds.y, test_size=0.2, random_state=0, stratify=ds.y)
    x_train, _ = train_test_split(rest, test_size=0.25, random_state=1, stratify=y_rest)
    np.testing.assert_array_equal(model.imputer.values, np.nanmedian(x_train, axis=0))
    assert model.meta["impute"]["strategy"] == "median"
    assert not np.isnan(s.X_train).any() and not np.isnan(s.X_test).any()


def test_predict_parity_with_or_without_label_and_from_parquet(table_model, tmp_path, capsys):
    d, cols = table_model
    model = str(d / "m.safetensors")
    with_label = predictions(capsys, model, d / "train.csv")
    write_csv(tmp_path / "nolabel.csv", cols, drop=("label",))
    pq.write_table(pa.table(cols), tmp_path / "t.parquet")
    feather.write_feather(pa.table({k: v for k, v in cols.items() if k != "label"}), tmp_path / "t.feather")
    shuffled = {k: cols[k] for k in ("x2", "label", "color", "x1")}  # columns are found by name
    write_csv(tmp_path / "shuffled.csv", shuffled)
    assert len(with_label) == 240
    for other in ("nolabel.csv", "t.parquet", "t.feather", "shuffled.csv"):
        assert predictions(capsys, model, tmp_path / other) == with_label, other
    # and the numbers are the model's own on the encoded, imputed rows
    m = load_model(model)
    ds = load_dataset(str(d / "train.csv"), impute="median")
    expected = [m.class_names[k] for k in m.predict(ds.X)]
    assert [r["label"] for r in with_label] == expected


def test_headerless_table_predicts_with_or_without_its_label_column(tmp_path, capsys):
    rng = np.random.default_rng(1)
    X = rng.normal(size=(60, 3))
    y = (X[:, 0] > 0).astype(int)
    np.savetxt(tmp_path / "plain.csv", np.column_stack([X, y]), delimiter=",", fmt="%.17g")
    np.savetxt(tmp_path / "x.csv", X, delimiter=",", fmt="%.17g")
    model = str(tmp_path / "m.safetensors")
    assert main(["train", "-q", "-d", str(tmp_path / "plain.csv"), "--epochs", "2", "--out", str(tmp_path / "r"),
                 "--save", model]) == 0
    assert predictions(capsys, model, tmp_path / "plain.csv") == predictions(capsys, model, tmp_path / "x.csv")


def test_unseen_category_at_predict_time_is_one_line(table_model, tmp_path, capsys):
    d, cols = table_model
    cols = {k: v[:4] for k, v in cols.items()}
    cols["color"][2] = "purple"
    write_csv(tmp_path / "new.csv", cols)
    capsys.readouterr()
    assert main(["predict", "-m", str(d / "m.safetensors"), "-i", str(tmp_path / "new.csv")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "Traceback" not in err
    assert f"{tmp_path / 'new.csv'}: line 4, column 'color': category 'purple' was not seen in training " \
           "(known: blue, red, white)" in err


def test_evaluate_applies_the_stored_encoding_and_imputation(table_model, tmp_path):
    d, _ = table_model
    assert main(["evaluate", "-m", str(d / "m.safetensors"), "--json", str(tmp_path / "e.json")]) == 0
    ev = json.loads((tmp_path / "e.json").read_text())
    trained = json.loads((d / "run" / "metrics.json").read_text())["test"]
    assert ev["accuracy"] == trained["accuracy"] and ev["loss"] == trained["loss"] and ev["n"] == 48


# ------------------------------------------------------------------------------------------- missing
def test_missing_cells_without_impute_are_the_old_errors_with_a_hint(tmp_path):
    write_csv(tmp_path / "t.csv", make_table(missing=True))
    with pytest.raises(DataError, match=r"line 5, column 'x2': an empty field \(--impute mean or median"):
        load_dataset(str(tmp_path / "t.csv"))
    (tmp_path / "na.csv").write_text("a,b,label\n1,NA,x\n3,4,y\n")
    with pytest.raises(DataError, match=r"line 2, column 'b': 'NA' is a missing value"):
        load_dataset(str(tmp_path / "na.csv"))
    ds = load_dataset(str(tmp_path / "na.csv"), impute="mean")
    assert np.isnan(ds.X[0, 1]) and ds.X[1].tolist() == [3, 4]


def test_mean_imputation_of_a_missing_category_gives_training_frequencies(tmp_path):
    (tmp_path / "c.csv").write_text("c,v,label\nred,1,a\nred,2,b\nwhite,3,a\n,4,b\n")
    ds = load_dataset(str(tmp_path / "c.csv"), impute="mean")
    assert np.isnan(ds.X[3, :2]).all()
    s, _ = split(ds, 0, 0, scale=False, impute="mean")
    np.testing.assert_allclose(s.imputer.values[:2], [2 / 3, 1 / 3])


def test_predict_with_missing_cells_uses_the_stored_values(table_model, tmp_path, capsys):
    d, cols = table_model
    m = load_model(d / "m.safetensors")
    cols = {k: v[:3] for k, v in cols.items() if k != "label"}
    cols["x2"][0] = None
    write_csv(tmp_path / "gap.csv", cols)
    filled = dict(cols)
    filled["x2"] = [float(m.imputer.values[4]), *cols["x2"][1:]]
    write_csv(tmp_path / "filled.csv", filled)
    assert predictions(capsys, str(d / "m.safetensors"), tmp_path / "gap.csv") == \
        predictions(capsys, str(d / "m.safetensors"), tmp_path / "filled.csv")


# ---------------------------------------------------------------------------------- errors, located
def test_a_bad_cell_deep_in_a_big_file_is_located_exactly(tmp_path):
    rows = ["a,b,label"] + [f"{i},{i * 0.5},{'x' if i % 2 else 'y'}" for i in range(20000)]
    rows[15001] = "15000,oops,x"
    rows.insert(9000, "")  # a blank line shifts every later line number
    rows.insert(100, '7,"8",y')  # a quoted number is still a number
    (tmp_path / "big.csv").write_text("\n".join(rows) + "\n")
    with pytest.raises(DataError, match=r"big.csv: line 15004, column 'b': 'oops' is not a number$"):
        load_dataset(str(tmp_path / "big.csv"))
    rows[15002] = "15000,7"
    (tmp_path / "ragged.csv").write_text("\n".join(rows) + "\n")
    with pytest.raises(DataError, match=r"ragged.csv: line 15003 has 2 fields; expected 3 \(as on line 1\)"):
        load_dataset(str(tmp_path / "ragged.csv"))


def test_bad_table_files_are_one_line_errors(tmp_path, capsys):
    (tmp_path / "bad.parquet").write_bytes(b"PAR1 not really")
    (tmp_path / "bad.feather").write_bytes(b"nonsense")
    pq.write_table(pa.table({"a": [1.0, None, 3.0], "label": ["x", "y", "x"]}), tmp_path / "gap.parquet")
    pq.write_table(pa.table({"a": [1.0, 2.0], "label": ["x", "y"]}), tmp_path / "ok.parquet")
    (tmp_path / "latin1.csv").write_bytes(b"a,b,label\n" + b"1,2,x\n" * 20000 + b"3,4,caf\xe9\n")
    cases = {
        "bad.parquet": "not a readable Parquet file", "bad.feather": "not a readable Feather/Arrow file",
        "gap.parquet": "row 2, column 'a': an empty field", "latin1.csv": "not a UTF-8 text file (byte 120017)",
    }
    for name, needle in cases.items():
        capsys.readouterr()
        code = main(["train", "-d", str(tmp_path / name), "--epochs", "1", "--out", str(tmp_path / "o")])
        err = capsys.readouterr().err
        assert code == 2 and err.count("\n") == 1 and needle in err and str(tmp_path / name) in err, (name, err)
    assert main(["train", "-d", str(tmp_path / "ok.parquet"), "--label-column", "nope", "--epochs", "1"]) == 2
    assert "no column named 'nope' in the table" in capsys.readouterr().err


# ------------------------------------------------------------------------------------- checkpoints
def test_table_settings_round_trip_through_checkpoint_and_resume(table_model, tmp_path):
    d, _ = table_model
    flags = ["train", "-q", "-d", str(d / "train.csv"), "--categorical", "onehot", "--impute", "mean",
             "--hidden", "8", "--batch-size", "16"]
    assert main([*flags, "--epochs", "4", "--out", str(tmp_path / "ref"), "--save", str(tmp_path / "ref.st")]) == 0
    assert main([*flags, "--epochs", "2", "--checkpoint-every", "2", "--out", str(tmp_path / "half")]) == 0
    tensors, meta = read_safetensors(tmp_path / "half" / CHECKPOINT_FILE)
    assert meta["config"]["categorical"] == "onehot" and meta["config"]["impute"] == "mean"
    meta["config"]["epochs"] = 4  # as if the 4-epoch run had been stopped after its checkpoint at epoch 2
    write_safetensors(tmp_path / "half" / CHECKPOINT_FILE, tensors, meta)
    assert main(["train", "-q", "--resume", str(tmp_path / "half"), "--save", str(tmp_path / "res.st")]) == 0
    a, b = load_model(tmp_path / "ref.st"), load_model(tmp_path / "res.st")
    for k in a.net.params:
        assert np.array_equal(a.net.params[k], b.net.params[k]), k
    assert a.meta["encoding"] == b.meta["encoding"] and a.meta["impute"] == b.meta["impute"]
    assert b.split["categorical"] == "onehot" and b.split["impute"] == "mean"


def test_streamed_paths_give_the_same_tables_and_errors_as_one_inferring_read(tmp_path, monkeypatch):
    """Both streamed paths (small files: 256 KiB chunks typed by the first one's inference; big files: types from a
    sample, chunks parsed on every core), forced here into many short chunks, give the same arrays, encodings and
    one-line errors as one inferring ``read_csv`` of the whole file (forced by making the streamed read fail)."""
    from mlplab.data import tables

    write_csv(tmp_path / "cat.csv", make_table(missing=True))
    rng = np.random.default_rng(0)
    np.savetxt(tmp_path / "num.csv", np.column_stack([rng.normal(size=(300, 4)), rng.integers(0, 3, 300)]),
               delimiter=",", fmt="%.17g", header="a,b,c,d,y", comments="")
    np.savetxt(tmp_path / "plain.csv", rng.normal(size=(300, 3)), delimiter=";", fmt="%.6f")
    rows = ["a,b,label"] + [f"{i},{i * 0.5},{'x' if i % 2 else 'y'}" for i in range(400)]
    rows[301] = "300,oops,x"  # beyond the first chunk: the typed read fails, the inferring one locates it
    (tmp_path / "late.csv").write_text("\n".join(rows) + "\n")
    (tmp_path / "nan.csv").write_text("a,b,c\n" + "1,2,x\n" * 50 + "3,nan,y\n")
    (tmp_path / "ragged.csv").write_text("a,b,c\n" + "1,2,x\n" * 50 + "3,4\n")
    lines = [f"{i * 0.25},{i % 7},{i % 3}" for i in range(200)]
    (tmp_path / "crlf.csv").write_bytes(("a,b,y\r\n" + "\r\n".join(lines) + "\r\n").encode())
    (tmp_path / "noeol.csv").write_text("a,b,y\n" + "\n".join(lines))  # no line end after the last row
    (tmp_path / "text.csv").write_text("a,b,y\n" + "".join(f"r{i % 3},g{i % 2},c{i % 2}\n" for i in range(200)))
    bom = "a,b,y\n" + "\n".join(lines) + "\n"
    (tmp_path / "bom.csv").write_bytes(codecs.BOM_UTF8 + bom.encode())
    (tmp_path / "quoted.csv").write_text('"a","the b","y"\n' + "".join(  # delimiters and quotes inside quotes
        f'"{i * 0.5}","{COLORS[i % 3]}, ""{i % 2}""","{i % 2}"\n' for i in range(200)))
    (tmp_path / "late_float.csv").write_text(  # integers in the first chunks, 2.5 and a huge integer later
        "a,b,y\n" + "".join(f"{i},{2.5 if i == 150 else 10**20 if i == 160 else i % 5},{i % 2}\n" for i in range(200)))
    (tmp_path / "late_value.csv").write_text(  # a column empty in the first chunks: numbers only later
        "a,b,y\n" + "".join(f"{i},{'' if i < 150 else i * 0.1},{i % 2}\n" for i in range(200)))
    (tmp_path / "empty_col.csv").write_text("a,b,y\n" + "".join(f"{i},,{i % 2}\n" for i in range(200)))
    (tmp_path / "header_only.csv").write_text("a,b,y\n")
    cases = [("cat.csv", {"impute": "mean"}), ("cat.csv", {}), ("num.csv", {}), ("num.csv", {"label_column": "b"}),
             ("plain.csv", {"task": "regression"}), ("late.csv", {}), ("nan.csv", {}), ("ragged.csv", {}),
             ("crlf.csv", {}), ("noeol.csv", {}), ("text.csv", {}), ("bom.csv", {}), ("quoted.csv", {}),
             ("quoted.csv", {"categorical": "onehot"}), ("late_float.csv", {}), ("late_value.csv", {"impute": "mean"}),
             ("late_value.csv", {}), ("empty_col.csv", {"impute": "mean"}), ("empty_col.csv", {}),
             ("header_only.csv", {})]

    def outcome(name, kw):
        try:
            ds = load_dataset(str(tmp_path / name), **kw)
        except DataError as e:
            return str(e)
        return ds.X.copy(), ds.y.copy(), ds.task, ds.class_names, ds.meta

    with monkeypatch.context() as m:
        def fail(*args):
            raise pa.ArrowInvalid("forced")

        m.setattr(tables, "_stream", fail)
        whole = [outcome(n, kw) for n, kw in cases]
        assert tables.read_table(tmp_path / "num.csv").dense is None  # the one inferring read was taken
    def streamed(name):  # whether the streamed path read the file (rather than the inferring fallback)
        try:
            return tables.read_table(tmp_path / name).dense is not None
        except DataError:
            return True  # ragged.csv: found by the streamed read's row handler
    names = sorted({n for n, _ in cases})
    monkeypatch.setattr(tables, "SMALL_CHUNK", 97)  # many chunks, cut mid-line, some lines longer than a chunk
    small = [outcome(n, kw) for n, kw in cases]
    assert [n for n in names if not streamed(n)] == ["late.csv"]  # only text under numbers needs a second read
    assert tables.read_table(tmp_path / "num.csv").dense.shape == (300, 5)
    monkeypatch.setattr(tables, "SMALL_FILE", 0)
    monkeypatch.setattr(tables, "SAMPLE_BYTES", 600)
    monkeypatch.setattr(tables, "CHUNK_BYTES", 97)
    big = [outcome(n, kw) for n, kw in cases]
    assert [n for n in names if not streamed(n)] == ["late.csv"]
    for (name, kw), a, b, c in zip(cases, whole, small, big, strict=True):
        for other in (b, c):
            assert type(a) is type(other), (name, kw, a, other)
            if isinstance(a, str):
                assert a == other, (name, kw)
                continue
            assert a[0].dtype == other[0].dtype == np.float64
            np.testing.assert_array_equal(a[0], other[0])
            np.testing.assert_array_equal(a[1], other[1])
            assert a[2:] == other[2:], (name, kw)
    outcomes = dict(zip((n + str(kw) for n, kw in cases), whole, strict=True))
    assert isinstance(outcomes["cat.csv{'impute': 'mean'}"], tuple) and isinstance(outcomes["bom.csv{}"], tuple)
    assert "'oops' is not a number" in outcomes["late.csv{}"] and "not finite" in outcomes["nan.csv{}"]
    assert "has 2 fields" in outcomes["ragged.csv{}"] and "header only" in outcomes["header_only.csv{}"]
    assert "an empty field" in outcomes["late_value.csv{}"] and "an empty field" in outcomes["empty_col.csv{}"]
    quoted = outcomes["quoted.csv{'categorical': 'onehot'}"]
    assert quoted[4]["features"][1:] == [f'the b={c}, "{k}"' for c in sorted(COLORS) for k in (0, 1)
                                         if (c, k) in {(COLORS[i % 3], i % 2) for i in range(200)}]
    assert outcomes["late_float.csv{}"][0][160, 1] == 1e20 and outcomes["late_float.csv{}"][0][150, 1] == 2.5
    assert np.isnan(outcomes["empty_col.csv{'impute': 'mean'}"][0][:, 1]).all()
