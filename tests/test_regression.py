"""Regression from a CSV: continuous targets (one or several), standardised for training, scored and predicted
in their own units; RMSE/MAE/R² in metrics.json and `mlplab evaluate`; a plot of predicted against true."""

from __future__ import annotations

import csv
import io
import json

import numpy as np
import pytest
from sklearn.datasets import load_diabetes
from sklearn.metrics import mean_absolute_error, mean_squared_error, r2_score

from mlplab.cli import main
from mlplab.data import load_dataset
from mlplab.metrics import regression_metrics
from mlplab.modelfile import load_model
from mlplab.runner import RunConfig, prepare, run


def write_diabetes(path, second_target: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """sklearn's diabetes set (bundled, 442 rows, 10 features) as a CSV with a header; target 'progression'."""
    X, y = load_diabetes(return_X_y=True)
    names = [f"f{i}" for i in range(X.shape[1])]
    cols = [X, y[:, None]]
    header = [*names, "progression"]
    if second_target:
        cols.append((2.0 * y + 7.0 * X[:, 2])[:, None])  # a second continuous target
        header.append("other")
    np.savetxt(path, np.hstack(cols), delimiter=",", fmt="%.17g", header=",".join(header), comments="")
    return X, y


@pytest.fixture(scope="module")
def diabetes_run(tmp_path_factory):
    d = tmp_path_factory.mktemp("diabetes")
    write_diabetes(d / "diabetes.csv")
    argv = ["train", "-q", "-d", str(d / "diabetes.csv"), "--task", "regression", "--hidden", "8",
            "--optimizer", "adam", "--lr", "0.01", "--batch-size", "32", "--epochs", "60", "--patience", "10",
            "--out", str(d / "run"), "--save", str(d / "model.safetensors")]
    assert main(argv) == 0
    return d


def test_metrics_json_reports_regression_scores_in_the_targets_units(diabetes_run):
    metrics = json.loads((diabetes_run / "run" / "metrics.json").read_text())
    test = metrics["test"]
    assert set(test) == {"loss", "rmse", "mae", "r2"}
    assert 0.2 < test["r2"] < 1  # learned something (a mean predictor scores 0; least squares 0.30 on this split)
    assert 30 < test["rmse"] < 75 and 20 < test["mae"] < test["rmse"]  # the target's units (std ≈ 77)
    assert test["loss"] == pytest.approx(test["rmse"] ** 2)  # one target: squared error = MSE
    assert metrics["config"]["task"] == "regression" and metrics["sizes"] == [10, 8, 1]
    assert metrics["config"]["output"] == "identity" and metrics["config"]["loss"] == "mse"
    png = diabetes_run / "run" / "pred_vs_true.png"
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_target_scaler_is_stored_and_fitted_on_the_training_split(diabetes_run):
    model = load_model(diabetes_run / "model.safetensors")
    assert model.task == "regression" and model.targets == ["progression"]
    prepared = prepare(RunConfig(dataset=str(diabetes_run / "diabetes.csv"), task="regression"))
    y_train = prepared.target_scaler.inverse(prepared.splits.y_train)
    np.testing.assert_allclose(model.target_scaler.mean, [y_train.mean()], rtol=1e-12)
    np.testing.assert_allclose(model.target_scaler.std, [y_train.std()], rtol=1e-12)
    np.testing.assert_allclose(prepared.splits.y_train.mean(), 0, atol=1e-9)
    assert abs(prepared.splits.y_test.mean()) > 1e-6  # test targets were not used for the statistics
    assert model.meta["target_scaler"] == {"mean": list(model.target_scaler.mean),
                                           "std": list(model.target_scaler.std)}


def test_evaluate_matches_training_and_predict_writes_values(diabetes_run, tmp_path, capsys):
    model_path = str(diabetes_run / "model.safetensors")
    assert main(["evaluate", "-m", model_path, "--json", str(tmp_path / "e.json")]) == 0
    out = capsys.readouterr().out
    ev = json.loads((tmp_path / "e.json").read_text())
    trained = json.loads((diabetes_run / "run" / "metrics.json").read_text())["test"]
    assert ev["task"] == "regression"
    for key in ("loss", "rmse", "mae", "r2"):
        assert ev[key] == pytest.approx(trained[key], rel=1e-12)
    assert f"rmse      {ev['rmse']:.4g}" in out and "r2" in out
    # predict on the table itself (label column included, picked out by name): values in the target's units
    assert main(["predict", "-m", model_path, "-i", str(diabetes_run / "diabetes.csv")]) == 0
    rows = list(csv.DictReader(io.StringIO(capsys.readouterr().out)))
    pred = np.array([float(r["progression"]) for r in rows])
    _, y = load_diabetes(return_X_y=True)
    assert len(pred) == len(y) and r2_score(y, pred) > 0.3  # all rows, mostly seen
    assert 100 < pred.mean() < 200  # not standard units (mean 0)


def test_multi_target_regression_with_a_list_or_repeated_flag(tmp_path):
    write_diabetes(tmp_path / "two.csv", second_target=True)
    common = ["-q", "-d", str(tmp_path / "two.csv"), "--hidden", "8", "--epochs", "3"]
    assert main(["train", *common, "--label-column", "progression,other", "--out", str(tmp_path / "a"),
                 "--save", str(tmp_path / "a.safetensors")]) == 0
    assert main(["train", *common, "--label-column", "progression", "--label-column", "other",
                 "--out", str(tmp_path / "b")]) == 0
    a = json.loads((tmp_path / "a" / "metrics.json").read_text())
    b = json.loads((tmp_path / "b" / "metrics.json").read_text())
    assert a["sizes"] == [10, 8, 2] and a["test"] == b["test"] and set(a["test"]) == {"loss", "rmse", "mae", "r2"}
    model = load_model(tmp_path / "a.safetensors")
    assert model.targets == ["progression", "other"] and len(model.target_scaler.mean) == 2
    ds = load_dataset(str(tmp_path / "two.csv"), label_column="progression,other")
    assert ds.task == "regression" and ds.y.shape == (442, 2) and ds.n_features == 10


def test_non_numeric_target_is_one_line_naming_file_line_column_value(tmp_path, capsys):
    path = tmp_path / "bad.csv"
    path.write_text("a,b,y\n1,2,3.5\n3,4,7\n5,6,high\n")
    code = main(["train", "-d", str(path), "--task", "regression", "--epochs", "1", "--out", str(tmp_path / "o")])
    err = capsys.readouterr().err.splitlines()
    assert code == 2 and len(err) == 1
    assert f"{path}: line 4, column 'y': target 'high' is not a number" in err[0]
    assert not (tmp_path / "o").exists()


def test_identity_output_alone_does_not_imply_regression(tmp_path):
    path = tmp_path / "ints.csv"
    path.write_text("a,b,y\n" + "".join(f"{i},{i % 3},{i % 4}\n" for i in range(40)))
    result = run(RunConfig(dataset=str(path), output="identity", loss="mse", epochs=1))
    assert result.prepared.dataset.task == "classification" and result.net.sizes[-1] == 4
    forced = run(RunConfig(dataset=str(path), task="regression", epochs=1))
    assert forced.prepared.dataset.task == "regression" and forced.net.sizes[-1] == 1
    assert forced.config.output == "identity" and forced.config.loss == "mse"


def test_regression_metrics_agree_with_scikit_learn():
    rng = np.random.default_rng(0)
    y, y_hat = rng.normal(size=(50, 3)) * 5 + 2, rng.normal(size=(50, 3))
    m = regression_metrics(y, y_hat)
    assert m["rmse"] == pytest.approx(np.sqrt(mean_squared_error(y, y_hat)), rel=1e-12)
    assert m["mae"] == pytest.approx(mean_absolute_error(y, y_hat), rel=1e-12)
    assert m["r2"] == pytest.approx(r2_score(y, y_hat), rel=1e-12)
    assert m["loss"] == pytest.approx(((y - y_hat) ** 2).sum(axis=1).mean(), rel=1e-12)
