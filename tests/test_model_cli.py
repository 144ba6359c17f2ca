"""`mlplab evaluate` and `mlplab predict` on saved models: exact metrics, every input type, bad inputs → exit 2."""

from __future__ import annotations

import csv
import io
import json

import numpy as np
import pytest
from PIL import Image

from mlplab.cli import main
from mlplab.cli.model import read_inputs
from mlplab.data import load_dataset
from mlplab.modelfile import load_model


@pytest.fixture(scope="module")
def digits(tmp_path_factory):
    d = tmp_path_factory.mktemp("digits")
    assert main(["train", "-q", "-d", "digits", "--hidden", "32", "--epochs", "8", "--batch-size", "32",
                 "--out", str(d / "run"), "--save", str(d / "model.safetensors")]) == 0
    return d


@pytest.fixture(scope="module")
def sine(tmp_path_factory):
    d = tmp_path_factory.mktemp("sine")
    assert main(["train", "-q", "-d", "sine", "--output", "identity", "--loss", "mse", "--hidden", "16",
                 "--epochs", "5", "--n-samples", "200", "--out", str(d / "run"),
                 "--save", str(d / "model.safetensors")]) == 0
    return d


def test_evaluate_reproduces_the_training_test_split_exactly(digits, capsys):
    capsys.readouterr()
    assert main(["evaluate", "-m", str(digits / "model.safetensors"), "--json", str(digits / "e.json"),
                 "--out", str(digits / "eval")]) == 0
    out = capsys.readouterr().out
    trained = json.loads((digits / "run" / "metrics.json").read_text())["test"]
    ev = json.loads((digits / "e.json").read_text())
    assert ev["accuracy"] == trained["accuracy"] and ev["loss"] == trained["loss"]
    assert ev["n"] == 360 and sum(map(sum, ev["confusion_matrix"])) == 360
    cm = np.array(ev["confusion_matrix"])
    assert np.trace(cm) / cm.sum() == pytest.approx(ev["accuracy"])
    assert set(ev["per_class"]) == {str(d) for d in range(10)}
    assert ev["per_class"]["3"]["support"] == cm[3].sum()
    assert f"{ev['accuracy']:.4f}" in out
    png = digits / "eval" / "confusion.png"
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert json.loads((digits / "eval" / "evaluation.json").read_text()) == ev


def test_evaluate_a_regressor(sine, capsys):
    assert main(["evaluate", "-m", str(sine / "model.safetensors"), "--json", str(sine / "e.json")]) == 0
    ev = json.loads((sine / "e.json").read_text())
    trained = json.loads((sine / "run" / "metrics.json").read_text())["test"]
    assert ev["task"] == "regression" and ev["loss"] == trained["loss"] and ev["r2"] is not None


def _csv(text: str) -> list[dict]:
    return list(csv.DictReader(io.StringIO(text)))


def test_predict_csv_npy_and_json_agree_with_the_model(digits, tmp_path, capsys):
    model = str(digits / "model.safetensors")
    m = load_model(model)
    X = load_dataset("digits").X[:6].astype(np.float64)
    np.savetxt(tmp_path / "x.csv", X, delimiter=",", fmt="%g")
    np.save(tmp_path / "x.npy", X.reshape(6, 8, 8))  # image-shaped arrays are accepted too
    capsys.readouterr()
    assert main(["predict", "-m", model, "-i", str(tmp_path / "x.csv")]) == 0
    rows = _csv(capsys.readouterr().out)
    want = m.predict(X)
    assert [r["label"] for r in rows] == [m.class_names[k] for k in want]
    probs = np.array([[float(r[f"p_{c}"]) for c in m.class_names] for r in rows])
    np.testing.assert_allclose(probs, m.forward(X), rtol=1e-5)
    assert main(["predict", "-m", model, "-i", str(tmp_path / "x.npy"), "-o", str(tmp_path / "p.json")]) == 0
    pj = json.loads((tmp_path / "p.json").read_text())
    assert [p["label"] for p in pj["predictions"]] == [r["label"] for r in rows]


def test_predict_csv_with_header_picks_training_columns_by_name(tmp_path, capsys):
    rng = np.random.default_rng(0)
    X = rng.normal(size=(120, 3))
    y = np.where(X[:, 0] + X[:, 2] > 0, "yes", "no")
    with open(tmp_path / "train.csv", "w") as f:
        f.write("a,b,target,c\n")
        for row, label in zip(X, y, strict=True):
            f.write(f"{row[0]},{row[1]},{label},{row[2]}\n")
    model = str(tmp_path / "m.safetensors")
    assert main(["train", "-q", "-d", str(tmp_path / "train.csv"), "--label-column", "target", "--epochs", "3",
                 "--out", str(tmp_path / "run"), "--save", model]) == 0
    capsys.readouterr()
    assert main(["predict", "-m", model, "-i", str(tmp_path / "train.csv")]) == 0
    rows = _csv(capsys.readouterr().out)
    assert len(rows) == 120
    assert [r["label"] for r in rows] == [load_model(model).class_names[k] for k in load_model(model).predict(X)]


def test_png_input_is_resized_grayscale_on_the_training_pixel_scale(digits, tmp_path, capsys):
    m = load_model(digits / "model.safetensors")
    img = load_dataset("digits").X[0].reshape(8, 8).astype(np.float64)  # values 0..16
    as_255 = np.round(img * 255 / 16).astype(np.uint8)
    Image.fromarray(as_255, "L").save(tmp_path / "same.png")
    Image.fromarray(np.dstack([as_255] * 3), "RGB").resize((32, 32), Image.Resampling.NEAREST).save(
        tmp_path / "big.png")
    Image.fromarray(255 - as_255, "L").save(tmp_path / "inverted.png")
    same = read_inputs(m, str(tmp_path / "same.png"))
    np.testing.assert_allclose(same.reshape(8, 8), img, atol=16 / 255)
    big = read_inputs(m, str(tmp_path / "big.png"))
    assert big.shape == (1, 64) and np.abs(big - img.ravel()).mean() < 1.5
    np.testing.assert_allclose(read_inputs(m, str(tmp_path / "inverted.png"), invert=True), same)
    capsys.readouterr()
    assert main(["predict", "-m", str(digits / "model.safetensors"), "-i", str(tmp_path / "same.png")]) == 0
    assert _csv(capsys.readouterr().out)[0]["label"] == m.class_names[m.predict(same)[0]]


def _bad_inputs(tmp_path):
    (tmp_path / "short.csv").write_text("1,2,3\n")
    (tmp_path / "text.csv").write_text("1,2\n3,abc\n")
    (tmp_path / "ragged.csv").write_text("1,2\n3\n")
    (tmp_path / "inf.csv").write_text("1,inf\n")
    np.save(tmp_path / "shape.npy", np.zeros((2, 5)))
    np.save(tmp_path / "obj.npy", np.array([{"a": 1}], dtype=object), allow_pickle=True)
    (tmp_path / "broken.npy").write_bytes(b"\x93NUMPY garbage")
    (tmp_path / "img.png").write_bytes(b"\x89PNG\r\n\x1a\nnot really")
    (tmp_path / "x.parquet").write_text("?")
    (tmp_path / "x.xlsx").write_text("?")
    return {
        "short.csv": "3 columns but the model takes 2", "text.csv": "line 2, column 1: 'abc' is not a number",
        "ragged.csv": "line 2 has 1 fields", "inf.csv": "not finite", "shape.npy": "shape (2, 5)",
        "obj.npy": "not a plain numeric", "broken.npy": "npy", "img.png": "not trained on 2-D images",
        "x.parquet": "not a readable Parquet file", "x.xlsx": "unsupported input type", "missing.csv": "not found",
    }


def test_bad_inputs_are_one_line_errors(tmp_path, capsys):
    model = str(tmp_path / "moons.safetensors")
    assert main(["train", "-q", "-d", "moons", "--epochs", "2", "--out", str(tmp_path / "run"), "--save", model]) == 0
    for name, message in _bad_inputs(tmp_path).items():
        capsys.readouterr()
        assert main(["predict", "-m", model, "-i", str(tmp_path / name)]) == 2, name
        err = capsys.readouterr().err
        assert message in err and err.count("\n") == 1 and err.startswith("mlplab: error: "), (name, err)
    np.save(tmp_path / "ok.npy", np.zeros((1, 2)))
    assert main(["predict", "-m", model, "-i", str(tmp_path / "ok.npy"), "-o", str(tmp_path / "out.xlsx")]) == 2
    assert not (tmp_path / "out.xlsx").exists()
    assert main(["evaluate", "-m", model, "-d", "digits"]) == 2
    assert "64 features but the model takes 2" in capsys.readouterr().err


def test_corrupt_png_for_an_image_model(digits, tmp_path, capsys):
    (tmp_path / "bad.png").write_bytes(b"\x89PNG\r\n\x1a\nnot really")
    assert main(["predict", "-m", str(digits / "model.safetensors"), "-i", str(tmp_path / "bad.png")]) == 2
    assert "not a readable PNG" in capsys.readouterr().err


def test_evaluate_uses_a_predefined_test_set(tmp_path, capsys):
    rng = np.random.default_rng(1)
    X, X_test = rng.normal(size=(200, 4)), rng.normal(size=(37, 4))
    np.savez(tmp_path / "d.npz", X=X, y=(X[:, 0] > 0).astype(np.int64), X_test=X_test,
             y_test=(X_test[:, 0] > 0).astype(np.int64))
    model = str(tmp_path / "m.safetensors")
    assert main(["train", "-q", "-d", str(tmp_path / "d.npz"), "--epochs", "3", "--out", str(tmp_path / "run"),
                 "--save", model]) == 0
    assert main(["evaluate", "-m", model, "--json", str(tmp_path / "e.json")]) == 0
    ev = json.loads((tmp_path / "e.json").read_text())
    assert ev["n"] == 37
    assert ev["accuracy"] == json.loads((tmp_path / "run" / "metrics.json").read_text())["test"]["accuracy"]
