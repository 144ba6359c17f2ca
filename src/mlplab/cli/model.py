"""``mlplab evaluate`` and ``mlplab predict``: use a saved model file on a dataset's test split or on new inputs."""

from __future__ import annotations

import csv
import io
import math
from pathlib import Path

import click
import numpy as np

from mlplab.atomic import write_json, write_text
from mlplab.cli.environment import data_paths
from mlplab.config import RunConfig
from mlplab.errors import ConfigError, DataError
from mlplab.modelfile import LoadedModel, load_model
from mlplab.registry import n_classes

MODEL_OPTION = click.option("--model", "-m", "model_path", required=True, type=click.Path(dir_okay=False),
                            help="A model file written by `mlplab train --save`.")


# ------------------------------------------------------------------------------------------- evaluate
@click.command("evaluate")
@MODEL_OPTION
@click.option("--dataset", "-d",
              help="Dataset name or file path. [default: the one the model was trained on]")
@click.option("--data-dir", type=click.Path(file_okay=False), help="Folder of IDX files (MNIST, Fashion-MNIST).")
@click.option("--json", "json_path", type=click.Path(dir_okay=False), help="Write the metrics JSON to this file.")
@click.option("--out", "-o", type=click.Path(file_okay=False),
              help="Folder for evaluation.json and confusion.png. [default: none]")
def evaluate_cmd(model_path: str, dataset: str | None, data_dir: str | None, json_path: str | None,
                 out: str | None) -> None:
    """Score a saved model on a dataset's test split: loss, accuracy, per-class precision/recall/F1.

    The test split is rebuilt exactly as in training (the split settings and seed are stored in the
    model file); datasets with their own test set (MNIST, Fashion-MNIST) use it.
    """
    model = load_model(model_path)
    X, y, ds_name = _test_split(model, dataset, data_dir)
    result = evaluate(model, X, y)
    result = {"model": str(model_path), "dataset": ds_name, **result}
    click.echo(_report_text(result, model))
    if json_path:
        write_json(json_path, result)
    if out:
        out_dir = Path(out)
        write_json(out_dir / "evaluation.json", result)
        if "confusion_matrix" in result:
            from mlplab import plots

            acc = result["accuracy"]
            plots.plot_confusion_matrix(np.array(result["confusion_matrix"]), result["class_names"],
                                        out_dir / "confusion.png", title=f"{ds_name}: test accuracy {acc:.4f}")


def _test_split(model: LoadedModel, dataset: str | None, data_dir: str | None) -> tuple[np.ndarray, np.ndarray, str]:
    """Raw test rows and targets, split with the settings stored in the model."""
    from mlplab.data import load_dataset, split

    raw = model.split or {}
    stored = RunConfig.from_json(raw)  # checked when the model was loaded; absent settings take their defaults
    spec = dataset or raw.get("dataset")
    if not spec:
        raise ConfigError("the model file does not name its training dataset; pass --dataset")
    same = spec == stored.dataset
    ds = load_dataset(spec, n_samples=stored.n_samples if same else None, noise=stored.noise,
                      seed=stored.seed, data_dir=data_dir or stored.data_dir, data_paths=data_paths(),
                      label_column=stored.label_column, task=raw.get("task") or model.task,
                      categorical=stored.categorical, impute=stored.impute, encoding=model.encoding)
    if ds.n_features != model.n_features:
        raise DataError(f"dataset {spec!r} has {ds.n_features} features but the model takes {model.n_features}")
    if ds.task != model.task:
        raise DataError(f"dataset {spec!r} is a {ds.task} task but the model does {model.task}")
    if model.task == "classification" and ds.class_names and model.class_names and ds.class_names != model.class_names:
        raise DataError(f"dataset {spec!r} has classes {ds.class_names} but the model was trained on "
                        f"{model.class_names}")
    splits, _ = split(ds, stored.val_fraction, stored.test_fraction, seed=stored.seed, scale=False, dtype="float64")
    if len(splits.X_test) == 0:
        raise DataError(f"dataset {spec!r} has no test rows with test_fraction {stored.test_fraction}")
    return splits.X_test, splits.y_test, ds.name


def evaluate(model: LoadedModel, X_raw: np.ndarray, y: np.ndarray) -> dict:
    """Metrics of ``model`` on raw inputs: loss and, for a classifier, accuracy, per-class report, confusion;
    for a regressor rmse, mae and r2 (and the loss) in the targets' own units."""
    from sklearn.metrics import classification_report, confusion_matrix

    from mlplab.metrics import regression_metrics

    net = model.net
    Xs = model.scaler.transform(model.fill(X_raw), net.dtype)
    if model.task == "classification":
        k = n_classes(net.output, net.sizes[-1])
        y = np.asarray(y, dtype=np.int64)
        if y.size and (y.min() < 0 or y.max() >= k):
            raise DataError(f"labels lie in {y.min()}..{y.max()} but the model has {k} classes")
        loss, acc = net.evaluate(Xs, y)
        pred = net.predict(Xs)
        names = model.class_names or [str(c) for c in range(k)]
        report = classification_report(y, pred, labels=list(range(k)), target_names=names, output_dict=True,
                                       zero_division=0)
        per_class = {n: {m: report[n][m] for m in ("precision", "recall", "f1-score", "support")} for n in names}
        return {
            "task": "classification", "n": len(y), "loss": _num(loss), "accuracy": float(acc),
            "class_names": names, "per_class": per_class,
            "macro_avg": report["macro avg"], "weighted_avg": report["weighted avg"],
            "confusion_matrix": confusion_matrix(y, pred, labels=list(range(k))).tolist(),
        }
    pred = model.forward(X_raw)
    yt = np.asarray(y, np.float64).reshape(pred.shape)
    scores = regression_metrics(yt, pred)
    if model.target_scaler is None:  # trained on raw targets: the loss is the network's own
        scores["loss"] = net.evaluate(Xs, y)[0]
    return {"task": "regression", "n": len(yt), **{k: _num(v) for k, v in scores.items()},
            "targets": model.targets}


def _num(x: float) -> float | None:
    return float(x) if math.isfinite(x) else None


def _fmt(x: float | None) -> str:
    """A number for people: 4 significant digits (the JSON output keeps every digit)."""
    return "—" if x is None else f"{x:.4g}"


def _report_text(r: dict, model: LoadedModel) -> str:
    lines = [f"model {r['model']} ({'-'.join(map(str, model.net.sizes))} {model.net.activation}) on "
             f"{r['dataset']}: {r['n']} test rows", f"loss      {_fmt(r['loss'])}"]
    if r["task"] == "regression":
        return "\n".join([*lines, *(f"{k:<9} {_fmt(r[k])}" for k in ("rmse", "mae", "r2"))])
    lines.append(f"accuracy  {r['accuracy']:.4f}")
    width = max(len(n) for n in r["class_names"]) + 2
    lines.append(f"{'class':<{width}} precision  recall     f1  support")
    for name, m in r["per_class"].items():
        lines.append(f"{name:<{width}} {m['precision']:9.3f} {m['recall']:7.3f} {m['f1-score']:6.3f} "
                     f"{int(m['support']):8d}")
    return "\n".join(lines)


# -------------------------------------------------------------------------------------------- predict
@click.command("predict")
@MODEL_OPTION
@click.option("--input", "-i", "input_path", required=True, type=click.Path(dir_okay=False),
              help="Rows to predict: .csv (features, optional header), .npy (numeric array) or .png (one image).")
@click.option("--output", "-o", "output_path", type=click.Path(dir_okay=False),
              help="Write predictions to this .csv or .json file. [default: CSV on standard output]")
@click.option("--invert", is_flag=True, help="PNG input: invert the grey levels (dark drawing on light paper).")
def predict_cmd(model_path: str, input_path: str, output_path: str | None, invert: bool) -> None:
    """Predict labels and class probabilities (or values, for a regressor) with a saved model."""
    if output_path and Path(output_path).suffix.lower() not in (".csv", ".json"):
        raise ConfigError(f"--output must end in .csv or .json; got {output_path}")
    model = load_model(model_path)
    X = read_inputs(model, input_path, invert=invert)
    y_hat = model.forward(X).astype(np.float64)
    header, rows = prediction_rows(model, y_hat)
    if output_path and output_path.lower().endswith(".json"):
        write_json(output_path, {"model": str(model_path), "input": str(input_path), "columns": header,
                                 "predictions": [dict(zip(header, r, strict=True)) for r in rows]})
        return
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(header)
    writer.writerows([[f"{v:.6g}" if isinstance(v, float) else v for v in r] for r in rows])
    if output_path:
        write_text(output_path, buf.getvalue())
    else:
        click.echo(buf.getvalue(), nl=False)


def prediction_rows(model: LoadedModel, y_hat: np.ndarray) -> tuple[list[str], list[list]]:
    """Column names and rows: row, label, p_<class>… for a classifier; row, then one column per target
    (named as in training, else y or y0, y1, …) in the targets' own units for a regressor."""
    n = len(y_hat)
    if model.task == "classification":
        if y_hat.shape[1] == 1:  # one sigmoid output: P(class 1)
            y_hat = np.column_stack([1 - y_hat[:, 0], y_hat[:, 0]])
        names = model.class_names or [str(k) for k in range(y_hat.shape[1])]
        labels = y_hat.argmax(axis=1)
        header = ["row", "label", *(f"p_{c}" for c in names)]
        return header, [[i, names[labels[i]], *map(float, y_hat[i])] for i in range(n)]
    names = model.targets or (["y"] if y_hat.shape[1] == 1 else [f"y{j}" for j in range(y_hat.shape[1])])
    header = ["row", *names]
    return header, [[i, *map(float, y_hat[i])] for i in range(n)]


def read_inputs(model: LoadedModel, path: str, invert: bool = False) -> np.ndarray:
    """Raw input rows (n, n_features) from a table (.csv, .parquet, .feather), .npy or .png file.

    Problems are one-line DataErrors. Missing cells come back as NaN when the model has an imputer.
    """
    from mlplab.data.tables import TABLE_SUFFIXES

    p = Path(path)
    if not p.is_file():
        raise DataError(f"{p}: input file not found")
    suffix = p.suffix.lower()
    if suffix in TABLE_SUFFIXES:
        X = _read_table(model, p)
    elif suffix == ".npy":
        X = _read_npy(model, p)
    elif suffix == ".png":
        X = _read_png(model, p, invert)
    else:
        raise DataError(f"{p}: unsupported input type {suffix or '(none)'}; use .csv, .parquet, .feather, .npy "
                        "or .png")
    if X.shape[0] == 0:
        raise DataError(f"{p}: no input rows")
    return X


def _read_table(model: LoadedModel, p: Path) -> np.ndarray:
    """Rows of a table, encoded as in training: the model's columns by name when the table has them, otherwise
    by position (a table the model was trained on may keep its label column(s))."""
    from mlplab.data.encoding import TableEncoding
    from mlplab.data.files import label_columns
    from mlplab.data.tables import read_table

    n_x = model.n_features
    enc = model.encoding or TableEncoding.numeric(model.features or [str(i) for i in range(n_x)])
    table = read_table(p)
    names, n_in = table.names, len(enc.columns)
    if table.header and all(n in names for n in enc.names):
        cols = [names.index(n) for n in enc.names]
    elif len(names) == n_in:
        cols = list(range(n_in))
    elif model.encoding is not None and not table.header and len(names) == n_in + len(model.targets or [0]):
        spec = label_columns((model.split or {}).get("label_column"))
        labels = {int(t) % len(names) for t in spec} if spec and all(t.lstrip("-").isdigit() for t in spec) \
            else {len(names) - 1}
        cols = [i for i in range(len(names)) if i not in labels]
    else:
        where = f"line {table.first_line}: " if table.kind == "csv" else ""
        raise DataError(f"{p}: {where}{len(names)} columns but the model takes {n_in} input columns"
                        + (f" ({', '.join(enc.names)})" if model.features or model.encoding else ""))
    if table.n_rows == 0:
        raise DataError(f"{p}: no input rows")
    return enc.encode(table, cols, missing_ok=model.imputer is not None)


def _read_npy(model: LoadedModel, p: Path) -> np.ndarray:
    n_x = model.n_features
    try:
        a = np.load(p, allow_pickle=False)
    except ValueError as e:
        raise DataError(f"{p}: not a plain numeric .npy array ({' '.join(str(e).split())})") from None
    except (OSError, EOFError) as e:
        raise DataError(f"{p}: unreadable .npy file ({e})") from None
    if not isinstance(a, np.ndarray) or a.dtype.kind not in "biuf":
        raise DataError(f"{p}: expected a numeric array; got {getattr(a, 'dtype', type(a))}")
    shape = model.image_shape
    if (a.ndim == 1 and a.size == n_x) or (shape and a.shape == shape):
        a = a.reshape(1, n_x)
    elif shape and a.ndim == len(shape) + 1 and a.shape[1:] == shape:
        a = a.reshape(len(a), n_x)
    if a.ndim != 2 or a.shape[1] != n_x:
        want = f"(n, {n_x})" + (f" or (n, {', '.join(map(str, shape))})" if shape else "")
        raise DataError(f"{p}: array of shape {a.shape}; the model takes {want}")
    a = a.astype(np.float64)
    bad = np.argwhere(~np.isfinite(a))
    if bad.size:
        raise DataError(f"{p}: value at row {bad[0][0]}, column {bad[0][1]} is not finite")
    return a


def _read_png(model: LoadedModel, p: Path, invert: bool) -> np.ndarray:
    """One grayscale image, resized to the model's image shape, on the pixel scale of its training data."""
    from PIL import Image, UnidentifiedImageError

    shape = model.image_shape
    if not shape or len(shape) != 2:
        raise DataError(f"{p}: the model was not trained on 2-D images, so it cannot read a PNG")
    try:
        with Image.open(p) as im:
            gray = im.convert("L").resize((shape[1], shape[0]), Image.Resampling.BILINEAR)
            pixels = np.asarray(gray, dtype=np.float64)
    except (UnidentifiedImageError, OSError, ValueError) as e:
        raise DataError(f"{p}: not a readable PNG image ({' '.join(str(e).split())})") from None
    if invert:
        pixels = 255.0 - pixels
    return (pixels / 255.0 * (model.pixel_max or 255.0)).reshape(1, -1)


__all__ = ["evaluate", "evaluate_cmd", "predict_cmd", "read_inputs"]
