"""Export: ONNX graphs against `mlplab predict` (onnxruntime), torch state dicts read back with safetensors.torch,
to_torch/from_torch round trips (same outputs, same gradients as autograd), refusals and bad inputs."""

from __future__ import annotations

import importlib
import json
import subprocess
import sys

import numpy as np
import pytest
from sklearn.datasets import load_diabetes

from conftest import require
from mlplab import MLP
from mlplab.cli import main
from mlplab.data import Standardizer, load_dataset
from mlplab.export import ExportError, MissingDependency, onnx_model, save_onnx, torch_state_dict
from mlplab.modelfile import load_model, save_model


def _need(module: str):
    try:
        return importlib.import_module(module)
    except ImportError:
        require(False, f"{module} is not installed (pip install -e '.[test]')")


@pytest.fixture(scope="module")
def ort():
    _need("onnx")
    return _need("onnxruntime")


@pytest.fixture(scope="module")
def torch():
    return _need("torch")


@pytest.fixture(scope="module")
def digits_X():
    return load_dataset("digits").X.astype(np.float64)


@pytest.fixture(scope="module")
def trained_digits(tmp_path_factory):
    """A digits classifier trained by the CLI: its stored scaler standardises raw pixel values 0..16."""
    d = tmp_path_factory.mktemp("digits")
    assert main(["train", "-q", "-d", "digits", "--hidden", "32", "--epochs", "5", "--batch-size", "32",
                 "--out", str(d / "run"), "--save", str(d / "model.safetensors")]) == 0
    return d / "model.safetensors"


def _predict_json(model: str, X: np.ndarray, tmp_path) -> np.ndarray:
    """ŷ as `mlplab predict` writes it (JSON keeps every digit), as an (n, n_y) array."""
    np.save(tmp_path / "x.npy", X)
    assert main(["predict", "-m", model, "-i", str(tmp_path / "x.npy"), "-o", str(tmp_path / "p.json")]) == 0
    doc = json.loads((tmp_path / "p.json").read_text())
    cols = [c for c in doc["columns"] if c not in ("row", "label")]
    return np.array([[row[c] for c in cols] for row in doc["predictions"]])


def _run_onnx(ort, path, X: np.ndarray) -> np.ndarray:
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    (out,) = session.run(["y_hat"], {"X": X.astype(np.float32)})
    return out


def _export(model, fmt: str, out) -> int:
    return main(["export", "-m", str(model), "--format", fmt, "-o", str(out)])


# ---------------------------------------------------------------------------------------------- ONNX
def test_onnx_of_a_trained_digits_classifier_matches_predict(ort, trained_digits, digits_X, tmp_path, capsys):
    import onnx

    capsys.readouterr()
    assert _export(trained_digits, "onnx", tmp_path / "m.onnx") == 0
    assert "opset 17" in capsys.readouterr().out
    proto = onnx.load(str(tmp_path / "m.onnx"))
    onnx.checker.check_model(proto, full_check=True)
    assert proto.opset_import[0].version == 17
    assert [i.name for i in proto.graph.input] == ["X"] and [o.name for o in proto.graph.output] == ["y_hat"]
    dims = proto.graph.input[0].type.tensor_type.shape.dim
    assert dims[0].dim_param == "N" and dims[1].dim_value == 64
    ops = [n.op_type for n in proto.graph.node]
    assert ops == ["Sub", "Div", "Gemm", "Tanh", "Gemm", "Softmax"]
    meta = json.loads({p.key: p.value for p in proto.metadata_props}["mlplab"])
    assert meta["class_names"] == [str(k) for k in range(10)] and meta["input_standardised"]

    X = digits_X[::7]  # raw rows, pixel values 0..16, as predict takes them
    want = _predict_json(str(trained_digits), X, tmp_path)
    got = _run_onnx(ort, tmp_path / "m.onnx", X)
    assert got.dtype == np.float32 and got.shape == want.shape == (len(X), 10)
    np.testing.assert_allclose(got, want, rtol=0, atol=1e-5)
    assert (got.argmax(1) == want.argmax(1)).all()
    assert want.max() > 0.9  # a trained model: confident probabilities, not a flat 0.1


@pytest.mark.parametrize("activation", ["tanh", "relu", "sigmoid", "identity"])
@pytest.mark.parametrize("hidden", [(), (24,), (32, 16), (20, 12, 8)])
def test_onnx_matches_predict_for_every_activation_and_depth(ort, digits_X, tmp_path, activation, hidden):
    """Layers 1–4 (0–3 hidden), every exportable activation; the scaler of the real digits pixels."""
    net = MLP([64, *hidden, 10], activation=activation, seed=len(hidden))
    path = tmp_path / "m.safetensors"
    save_model(path, net, Standardizer.fit(digits_X), None, "classification")
    assert _export(path, "onnx", tmp_path / "m.onnx") == 0
    X = digits_X[:200]
    np.testing.assert_allclose(_run_onnx(ort, tmp_path / "m.onnx", X), _predict_json(str(path), X, tmp_path),
                               rtol=0, atol=1e-5)


@pytest.mark.parametrize(("output", "loss", "n_y", "dtype"), [
    ("sigmoid", "cross_entropy", 1, "float32"), ("sigmoid", "mse", 3, "float32"),
    ("softmax", "mse", 4, "float64"), ("identity", "mse", 2, "float64"),
])
def test_onnx_every_head_and_a_float64_model(ort, tmp_path, output, loss, n_y, dtype):
    """Sigmoid outputs, a float64 model (exported as a float32 graph) and a regressor, on badly scaled inputs."""
    rng = np.random.default_rng(3)
    X = rng.normal(size=(300, 5)) * [1, 10, 100, 0.01, 1000] + [0, -50, 2000, 0.5, 1e4]
    net = MLP([5, 16, 8, n_y], activation="tanh", output=output, loss=loss, dtype=dtype, seed=1)
    task = "regression" if output == "identity" else "classification"
    path = tmp_path / "m.safetensors"
    save_model(path, net, Standardizer.fit(X), None, task)
    assert _export(path, "onnx", tmp_path / "m.onnx") == 0
    got, want = _run_onnx(ort, tmp_path / "m.onnx", X), _predict_json(str(path), X, tmp_path)
    if output == "sigmoid" and n_y == 1:
        want = want[:, 1:]  # predict prints p_0 = 1 − p, p_1 = p; the graph gives ŷ = p
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-5)


def test_onnx_regressor_trained_by_the_cli(ort, tmp_path):
    assert main(["train", "-q", "-d", "sine", "--output", "identity", "--loss", "mse", "--hidden", "16",
                 "--epochs", "5", "--n-samples", "200", "--out", str(tmp_path / "run"),
                 "--save", str(tmp_path / "m.safetensors")]) == 0
    assert _export(tmp_path / "m.safetensors", "onnx", tmp_path / "m.onnx") == 0
    X = np.linspace(-4, 4, 101).reshape(-1, 1)
    want = _predict_json(str(tmp_path / "m.safetensors"), X, tmp_path)
    np.testing.assert_allclose(_run_onnx(ort, tmp_path / "m.onnx", X), want, rtol=1e-5, atol=1e-5)


def test_onnx_and_torch_of_a_csv_regressor_with_standardised_targets(ort, torch, tmp_path):
    """Two targets in their own units (diabetes progression, std ≈ 77): the graph returns what predict writes."""
    from safetensors import safe_open
    from safetensors.torch import load_file

    X, y = load_diabetes(return_X_y=True)
    Y = np.column_stack([y, 2.0 * y + 7.0 * X[:, 2]])
    header = ",".join([*(f"f{i}" for i in range(10)), "progression", "other"])
    np.savetxt(tmp_path / "d.csv", np.hstack([X, Y]), delimiter=",", fmt="%.17g", header=header, comments="")
    model = tmp_path / "m.safetensors"
    assert main(["train", "-q", "-d", str(tmp_path / "d.csv"), "--task", "regression", "--label-column",
                 "progression,other", "--hidden", "8", "--epochs", "5", "--out", str(tmp_path / "run"),
                 "--save", str(model)]) == 0
    assert load_model(model).target_scaler is not None
    assert _export(model, "onnx", tmp_path / "m.onnx") == 0
    want = _predict_json(str(model), X, tmp_path)
    assert want.shape == (442, 2) and want[:, 0].std() > 5  # in the targets' units, not standardised
    np.testing.assert_allclose(_run_onnx(ort, tmp_path / "m.onnx", X), want, rtol=1e-5)
    assert _export(model, "torch", tmp_path / "state.safetensors") == 0
    with safe_open(str(tmp_path / "state.safetensors"), "pt") as f:
        meta = json.loads(f.metadata()["mlplab"])
    assert meta["targets"] == ["progression", "other"]
    seq = torch.nn.Sequential(torch.nn.Linear(10, 8), torch.nn.Tanh(), torch.nn.Linear(8, 2)).float()
    seq.load_state_dict(load_file(str(tmp_path / "state.safetensors")))
    with torch.no_grad():
        z = seq(torch.from_numpy((X - meta["input_mean"]) / meta["input_std"]).float()).double().numpy()
    np.testing.assert_allclose(z * meta["target_std"] + meta["target_mean"], want, rtol=1e-5)


def _table(tmp_path, color: bool) -> tuple:
    """A CSV of 120 rows: two numeric features with empty cells, optionally a text column, a class label."""
    rng = np.random.default_rng(5)
    a, b = rng.normal(10, 3, 120), rng.normal(-200, 40, 120)
    colors = rng.choice(["red", "white", "rose"], 120)
    label = ((a - 10) / 3 + (b + 200) / 40 + (colors == "red") > 0).astype(int)
    lines = ["a,b,color,label" if color else "a,b,label"]
    for i in range(120):
        cells = ["" if i % 7 == 3 else f"{a[i]:.6g}", "" if i % 11 == 5 else f"{b[i]:.6g}"]
        lines.append(",".join([*cells, *([colors[i]] if color else []), str(label[i])]))
    path = tmp_path / ("colors.csv" if color else "missing.csv")
    path.write_text("\n".join(lines) + "\n")
    return path


def test_onnx_fills_missing_cells_as_predict_does(ort, tmp_path):
    """A model trained with --impute mean: the graph fills NaN inputs with the stored means before scaling."""
    import onnx

    from mlplab.cli.model import read_inputs

    csv_path, model = _table(tmp_path, color=False), tmp_path / "m.safetensors"
    assert main(["train", "-q", "-d", str(csv_path), "--impute", "mean", "--hidden", "6", "--epochs", "3",
                 "--out", str(tmp_path / "run"), "--save", str(model)]) == 0
    assert _export(model, "onnx", tmp_path / "m.onnx") == 0
    assert [n.op_type for n in onnx.load(str(tmp_path / "m.onnx")).graph.node][:4] == ["IsNaN", "Where", "Sub", "Div"]
    X = read_inputs(load_model(model), str(csv_path))  # the predict path: missing cells NaN
    assert np.isnan(X).sum() > 20
    assert main(["predict", "-m", str(model), "-i", str(csv_path), "-o", str(tmp_path / "p.json")]) == 0
    doc = json.loads((tmp_path / "p.json").read_text())
    want = np.array([[r[c] for c in doc["columns"][2:]] for r in doc["predictions"]])
    np.testing.assert_allclose(_run_onnx(ort, tmp_path / "m.onnx", X), want, rtol=0, atol=1e-5)


def test_text_columns_are_refused_for_onnx_and_kept_in_the_torch_metadata(tmp_path, capsys):
    from safetensors import safe_open

    csv_path, model = _table(tmp_path, color=True), tmp_path / "m.safetensors"
    assert main(["train", "-q", "-d", str(csv_path), "--impute", "mean", "--hidden", "6", "--epochs", "2",
                 "--out", str(tmp_path / "run"), "--save", str(model)]) == 0
    capsys.readouterr()
    assert _export(model, "onnx", tmp_path / "m.onnx") == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "text column(s) 'color'" in err and "--format torch" in err
    assert not (tmp_path / "m.onnx").exists()
    assert _export(model, "torch", tmp_path / "state.safetensors") == 0
    with safe_open(str(tmp_path / "state.safetensors"), "np") as f:
        meta = json.loads(f.metadata()["mlplab"])
        assert f.get_tensor("0.weight").shape == (6, 5)  # a, b and three one-hot colours
    cols = {c["name"]: c["categories"] for c in meta["encoding"]["columns"]}
    assert cols == {"a": None, "b": None, "color": ["red", "rose", "white"]}
    assert len(meta["impute"]["values"]) == len(meta["input_mean"]) == 5


def test_onnx_undoes_a_target_scaling(ort, tmp_path):
    """A regressor trained on standardised targets: the graph ends with ŷ · std + mean, in the targets' units."""
    rng = np.random.default_rng(0)
    X = rng.normal(size=(50, 3)) * 5 + 2
    net = MLP([3, 8, 2], activation="relu", output="identity", loss="mse", seed=0)
    scaler = Standardizer.fit(X)
    target = Standardizer(np.array([150.0, -3.0]), np.array([75.0, 0.5]))
    save_onnx(tmp_path / "m.onnx", net, scaler, target)
    want = net.forward(scaler.transform(X)).astype(np.float64) * target.std + target.mean
    np.testing.assert_allclose(_run_onnx(ort, tmp_path / "m.onnx", X), want, rtol=1e-5)


def test_every_activation_of_the_engine_exports_faithfully_or_is_refused(ort, torch):
    """A new activation in mlplab.registry cannot slip through: it either matches in ONNX and torch, or is refused."""
    import mlplab
    from mlplab.export.common import ACTIVATIONS as EXPORTABLE
    from mlplab.registry import ACTIVATIONS

    X = np.random.default_rng(0).normal(size=(20, 3))
    for name in ACTIVATIONS:
        net = MLP([3, 5, 2], activation=name, seed=0)
        if name not in EXPORTABLE:
            for export in (onnx_model, mlplab.to_torch):
                with pytest.raises(ExportError, match=f"activation {name!r} cannot be exported"):
                    export(net)
            continue
        sess = ort.InferenceSession(onnx_model(net).SerializeToString(), providers=["CPUExecutionProvider"])
        np.testing.assert_allclose(sess.run(None, {"X": X.astype(np.float32)})[0], net.forward(X), atol=1e-6)
        with torch.no_grad():
            np.testing.assert_allclose(mlplab.to_torch(net)(torch.from_numpy(X).float()).numpy(), net.forward(X),
                                       atol=1e-6)
    assert "step" not in EXPORTABLE and set(EXPORTABLE) <= set(ACTIVATIONS)


def test_an_identity_scaler_adds_no_node(ort):
    net = MLP([4, 6, 3], activation="identity", seed=0)
    ops = [n.op_type for n in onnx_model(net).graph.node]
    assert ops == ["Gemm", "Gemm", "Softmax"]


# --------------------------------------------------------------------------------------- torch state
def test_torch_state_dict_loads_into_a_plain_sequential(torch, trained_digits, digits_X, tmp_path, capsys):
    from safetensors import safe_open
    from safetensors.torch import load_file

    assert _export(trained_digits, "torch", tmp_path / "state.safetensors") == 0
    state = load_file(str(tmp_path / "state.safetensors"))
    assert sorted(state) == ["0.bias", "0.weight", "2.bias", "2.weight"]
    assert tuple(state["0.weight"].shape) == (32, 64)  # torch's (out, in)
    nn = torch.nn
    # .float(): the file is float32, and another test module may have changed torch's default dtype
    seq = nn.Sequential(nn.Linear(64, 32), nn.Tanh(), nn.Linear(32, 10), nn.Softmax(dim=1)).float()
    seq.load_state_dict(state, strict=True)
    with safe_open(str(tmp_path / "state.safetensors"), "pt") as f:
        meta = json.loads(f.metadata()["mlplab"])
    assert meta["modules"] == [str(m) for m in seq]
    X = digits_X[:100]
    Xs = (X - np.array(meta["input_mean"])) / np.array(meta["input_std"])
    with torch.no_grad():
        got = seq(torch.from_numpy(Xs.astype(np.float32))).numpy()
    want = _predict_json(str(trained_digits), X, tmp_path)
    np.testing.assert_allclose(got, want, rtol=0, atol=1e-6)
    model = load_model(trained_digits)
    np.testing.assert_array_equal(state["2.weight"].numpy(), model.net.params["W2"].T)
    import mlplab

    same = mlplab.to_torch(model.net)  # the file holds exactly to_torch's state: bit-identical outputs
    with torch.no_grad():
        assert torch.equal(same(torch.from_numpy(Xs.astype(np.float32))), torch.from_numpy(got))


def test_torch_state_keys_follow_the_sequential(torch):
    net = MLP([3, 5, 4, 2], activation="relu", output="identity", loss="mse", dtype="float64")
    state = torch_state_dict(net)
    assert list(state) == ["0.weight", "0.bias", "2.weight", "2.bias", "4.weight", "4.bias"]
    assert list(torch.nn.Sequential(torch.nn.Linear(3, 5), torch.nn.ReLU(), torch.nn.Linear(5, 4), torch.nn.ReLU(),
                                    torch.nn.Linear(4, 2)).state_dict()) == list(state)
    assert state["4.weight"].dtype == np.float64 and state["4.weight"].shape == (2, 4)


# ------------------------------------------------------------------------------- to_torch / from_torch
HEADS = [("softmax", "cross_entropy"), ("softmax", "mse"), ("identity", "mse"), ("sigmoid", "cross_entropy"),
         ("sigmoid", "mse")]


def _torch_loss(torch, seq, X, Y, output: str, loss: str):
    """The same batch-mean loss as mlplab's (the lab's per-example losses, averaged), through torch autograd."""
    F = torch.nn.functional
    if loss == "cross_entropy":  # on the logits, for stability: −Σ y log softmax(ỹ) or the binary CE per output
        logits = seq[:-1](X)
        if output == "softmax":
            return -(Y * torch.log_softmax(logits, dim=1)).sum(dim=1).mean()
        return F.binary_cross_entropy_with_logits(logits, Y, reduction="none").sum(dim=1).mean()
    return ((seq(X) - Y) ** 2).sum(dim=1).mean()


@pytest.mark.parametrize("activation", ["tanh", "relu", "sigmoid", "identity"])
@pytest.mark.parametrize(("output", "loss"), HEADS)
@pytest.mark.parametrize("hidden", [(), (7,), (9, 6), (8, 5, 4)])
def test_to_torch_same_outputs_and_gradients(torch, activation, output, loss, hidden):
    import mlplab

    rng = np.random.default_rng(len(hidden))
    n_y = 3
    net = MLP([4, *hidden, n_y], activation=activation, output=output, loss=loss, dtype="float64", seed=2)
    X = rng.normal(size=(16, 4))
    y = rng.integers(0, n_y, 16) if output == "softmax" else rng.random((16, n_y))
    seq = mlplab.to_torch(net)
    assert len([m for m in seq if isinstance(m, torch.nn.Linear)]) == len(hidden) + 1
    Xt = torch.from_numpy(X)
    with torch.no_grad():
        np.testing.assert_allclose(seq(Xt).numpy(), net.forward(X), rtol=1e-12, atol=1e-15)
    loss_ours, grads = net.loss_and_grad(X, y)
    t_loss = _torch_loss(torch, seq, Xt, torch.from_numpy(net.targets(y)), output, loss)
    t_loss.backward()
    assert t_loss.item() == pytest.approx(loss_ours, rel=1e-12)
    linears = [m for m in seq if isinstance(m, torch.nn.Linear)]
    for l, lin in enumerate(linears, start=1):
        np.testing.assert_allclose(lin.weight.grad.numpy().T, grads[f"W{l}"], rtol=1e-10, atol=1e-14)
        np.testing.assert_allclose(lin.bias.grad.numpy(), grads[f"b{l}"], rtol=1e-10, atol=1e-14)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_from_torch_round_trip(torch, dtype):
    import mlplab

    nn = torch.nn
    tdtype = getattr(torch, dtype)
    torch.manual_seed(0)
    seq = nn.Sequential(nn.Linear(6, 12, dtype=tdtype), nn.ReLU(), nn.Linear(12, 8, dtype=tdtype), nn.ReLU(),
                        nn.Linear(8, 4, dtype=tdtype), nn.Softmax(dim=1))
    net = mlplab.from_torch(seq)
    assert (net.sizes, net.activation, net.output, net.loss, net.dtype.name) == (
        [6, 12, 8, 4], "relu", "softmax", "cross_entropy", dtype)
    X = np.random.default_rng(1).normal(size=(32, 6)).astype(dtype)
    y = np.arange(32) % 4
    with torch.no_grad():
        want = seq(torch.from_numpy(X)).numpy()
    np.testing.assert_allclose(net.forward(X), want, rtol=1e-5 if dtype == "float32" else 1e-12, atol=1e-7)
    back = mlplab.to_torch(net)
    for k, v in seq.state_dict().items():
        assert torch.equal(back.state_dict()[k], v), k
    if dtype == "float64":  # gradients of the mean cross-entropy, mlplab's backprop against autograd on seq
        loss, grads = net.loss_and_grad(X, y)
        t_loss = torch.nn.functional.cross_entropy(seq[:-1](torch.from_numpy(X)), torch.from_numpy(y))
        t_loss.backward()
        assert t_loss.item() == pytest.approx(loss, rel=1e-12)
        for l, i in enumerate((0, 2, 4), start=1):
            np.testing.assert_allclose(seq[i].weight.grad.numpy().T, grads[f"W{l}"], rtol=1e-10, atol=1e-14)
            np.testing.assert_allclose(seq[i].bias.grad.numpy(), grads[f"b{l}"], rtol=1e-10, atol=1e-14)


def test_from_torch_output_and_loss_choices(torch):
    import mlplab

    nn = torch.nn
    assert mlplab.from_torch(nn.Sequential(nn.Linear(2, 3))).output == "identity"
    assert mlplab.from_torch(nn.Sequential(nn.Linear(2, 3))).loss == "mse"
    net = mlplab.from_torch(nn.Sequential(nn.Linear(2, 5), nn.Sigmoid(), nn.Linear(5, 1), nn.Sigmoid()))
    assert (net.activation, net.output, net.loss) == ("sigmoid", "sigmoid", "cross_entropy")
    assert mlplab.from_torch(nn.Sequential(nn.Linear(2, 5), nn.Identity(), nn.Linear(5, 2), nn.Softmax(-1)),
                             loss="mse").loss == "mse"
    nobias = mlplab.from_torch(nn.Sequential(nn.Linear(2, 3, bias=False)))
    assert not nobias.params["b1"].any()


@pytest.mark.parametrize(("build", "message"), [
    (lambda nn: nn.Linear(2, 3), "needs a torch.nn.Sequential"),
    (lambda nn: nn.Sequential(), "start and end with a Linear"),
    (lambda nn: nn.Sequential(nn.Linear(2, 3), nn.Tanh()), "start and end with a Linear"),
    (lambda nn: nn.Sequential(nn.Linear(2, 3), nn.Dropout(0.1), nn.Linear(3, 2)), "module 1 is Dropout"),
    (lambda nn: nn.Sequential(nn.Conv1d(1, 1, 1)), "module 0 is Conv1d"),
    (lambda nn: nn.Sequential(nn.Linear(2, 3), nn.Tanh(), nn.Linear(3, 3), nn.ReLU(), nn.Linear(3, 2)),
     "one activation"),
    (lambda nn: nn.Sequential(nn.Linear(2, 3), nn.GELU(), nn.Linear(3, 2)), "module 1 is GELU"),
    (lambda nn: nn.Sequential(nn.Linear(2, 3), nn.Linear(4, 2)), "module 1 is Linear"),
    (lambda nn: nn.Sequential(nn.Linear(2, 3), nn.Tanh(), nn.Linear(4, 2)), "takes 4 inputs"),
    (lambda nn: nn.Sequential(nn.Linear(2, 3), nn.Softmax(dim=0)), "dim=0"),
    (lambda nn: nn.Sequential(nn.Linear(2, 3), nn.LogSoftmax(dim=1)), "module 1 is LogSoftmax"),
    (lambda nn: nn.Sequential(nn.Linear(2, 3).half()), "float32 or all float64"),
])
def test_from_torch_refuses_what_it_cannot_represent(torch, build, message):
    import mlplab

    with pytest.raises(ExportError, match=message):
        mlplab.from_torch(build(torch.nn))


def test_to_torch_refuses_step(torch):
    import mlplab

    with pytest.raises(ExportError, match="activation 'step' cannot be exported"):
        mlplab.to_torch(MLP([2, 3, 2], activation="step"))


def test_torch_and_onnx_are_imported_only_when_used():
    code = ("import sys, mlplab, mlplab.export, mlplab.cli; "
            "assert not {'torch', 'onnx', 'onnxruntime'} & set(sys.modules), sorted(sys.modules); "
            "assert callable(mlplab.to_torch) and callable(mlplab.from_torch); "
            "assert 'torch' not in sys.modules")
    subprocess.run([sys.executable, "-c", code], check=True)


def test_missing_torch_or_onnx_is_a_clear_error(monkeypatch, tmp_path, capsys):
    import mlplab

    monkeypatch.setitem(sys.modules, "torch", None)  # import torch → ImportError
    monkeypatch.setitem(sys.modules, "onnx", None)
    with pytest.raises(MissingDependency, match=r"torch is not installed; pip install torch"):
        mlplab.to_torch(MLP([2, 2]))
    with pytest.raises(MissingDependency, match="torch is not installed"):
        mlplab.from_torch(object())
    path = tmp_path / "m.safetensors"
    save_model(path, MLP([2, 2]), None, None, "classification")
    capsys.readouterr()
    assert _export(path, "onnx", tmp_path / "m.onnx") == 1
    err = capsys.readouterr().err
    assert err == "mlplab: error: onnx is not installed; pip install 'mlplab[export]'\n"
    assert not (tmp_path / "m.onnx").exists()


# ---------------------------------------------------------------------------------------- CLI errors
@pytest.mark.parametrize("fmt", ["onnx", "torch"])
def test_step_is_refused_in_one_line_and_nothing_is_written(tmp_path, capsys, fmt):
    path = tmp_path / "step.safetensors"
    save_model(path, MLP([2, 4, 2], activation="step"), None, None, "classification")
    out = tmp_path / "out.bin"
    out.write_bytes(b"previous")
    capsys.readouterr()
    assert _export(path, fmt, out) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "activation 'step' cannot be exported" in err
    assert out.read_bytes() == b"previous" and sorted(p.name for p in tmp_path.iterdir()) == ["out.bin",
                                                                                               "step.safetensors"]


def test_the_real_entry_point_refuses_step_in_one_line(tmp_path):
    path = tmp_path / "step.safetensors"
    save_model(path, MLP([2, 4, 2], activation="step"), None, None, "classification")
    proc = subprocess.run([sys.executable, "-m", "mlplab", "export", "-m", str(path), "--format", "onnx", "-o",
                           str(tmp_path / "m.onnx")], capture_output=True, text=True)
    assert proc.returncode == 2 and proc.stdout == "" and proc.stderr.count("\n") == 1
    assert proc.stderr.startswith("mlplab: error: activation 'step' cannot be exported")


def test_bad_paths_and_model_files_are_one_line_errors(tmp_path, capsys):
    good = tmp_path / "m.safetensors"
    save_model(good, MLP([2, 3, 2]), None, None, "classification")
    (tmp_path / "junk.safetensors").write_bytes(b"not a model at all")
    cases = [
        (["-m", str(tmp_path / "missing.safetensors"), "--format", "onnx", "-o", str(tmp_path / "a")], "not found"),
        (["-m", str(tmp_path / "junk.safetensors"), "--format", "torch", "-o", str(tmp_path / "a")], "junk"),
        (["-m", str(good), "--format", "keras", "-o", str(tmp_path / "a")], "keras"),
        (["-m", str(good), "--format", "torch", "-o", str(tmp_path)], "directory"),
        (["-m", str(good), "--format", "torch"], "--output"),
        (["--format", "torch", "-o", str(tmp_path / "a")], "--model"),
    ]
    for args, needle in cases:
        capsys.readouterr()
        assert main(["export", *args]) == 2, args
        err = capsys.readouterr().err
        assert err.startswith("mlplab: error: ") and err.count("\n") == 1 and needle in err, (args, err)
    assert not (tmp_path / "a").exists()


def test_a_failed_write_leaves_the_previous_file(torch, tmp_path, monkeypatch):
    from safetensors.torch import load_file

    from mlplab.export import torch_nn

    path = tmp_path / "m.safetensors"
    save_model(path, MLP([2, 3, 2]), None, None, "classification")
    out = tmp_path / "state.safetensors"
    assert _export(path, "torch", out) == 0
    before = out.read_bytes()

    def half_then_fail(tensors, filename, metadata=None):
        with open(filename, "wb") as f:
            f.write(b"half")
        raise OSError(28, "No space left on device", filename)

    monkeypatch.setattr(torch_nn, "save_file", half_then_fail)
    save_model(path, MLP([2, 5, 2], seed=1), None, None, "classification")
    assert _export(path, "torch", out) == 2
    assert out.read_bytes() == before and sorted(p.name for p in tmp_path.iterdir()) == [path.name, out.name]
    assert sorted(load_file(str(out))) == ["0.bias", "0.weight", "2.bias", "2.weight"]
