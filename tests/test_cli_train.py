"""`mlplab train` and `mlplab gradcheck` as a user runs them."""

from __future__ import annotations

import json
import subprocess
import sys

from mlplab.cli import main


def train(tmp_path, *flags, name="run"):
    out = tmp_path / name
    code = main(["train", "--quiet", "--out", str(out), "--json", str(tmp_path / f"{name}.json"), *flags])
    return code, out, json.loads((tmp_path / f"{name}.json").read_text()) if code == 0 else None


def test_default_run_learns_circles_and_writes_everything(tmp_path):
    code, out, metrics = train(tmp_path)
    assert code == 0
    assert metrics["test"]["accuracy"] >= 0.97
    assert set(metrics) >= {"config", "history", "test"}
    assert set(metrics["history"][0]) >= {"epoch", "train_loss", "train_accuracy", "val_loss", "val_accuracy",
                                          "seconds"}
    assert metrics["config"]["dataset"] == "circles" and metrics["config"]["hidden"] == [10]
    assert json.loads((out / "metrics.json").read_text()) == metrics
    for png in ("curves.png", "boundary.png"):
        assert (out / png).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_identity_activation_cannot_separate_circles(tmp_path):
    """Q3: without a non-linearity the network is one linear map."""
    code, out, metrics = train(tmp_path, "--activation", "identity")
    assert code == 0 and metrics["test"]["accuracy"] <= 0.75
    assert (out / "boundary.png").exists() and (out / "curves.png").exists()


def test_same_seed_gives_identical_metrics_apart_from_timing(tmp_path):
    flags = ["--epochs", "15", "--hidden", "8,4", "--optimizer", "adam", "--lr", "0.01", "--dropout", "0.1"]
    _, _, a = train(tmp_path, *flags, name="a")
    _, _, b = train(tmp_path, *flags, name="b")
    _, _, c = train(tmp_path, *flags, "--seed", "1", name="c")
    for m in (a, b, c):
        for r in m["history"]:
            r.pop("seconds")
    assert a == b and a != c


def test_label_smoothing_flag_reaches_the_trainer(tmp_path):
    _, _, a = train(tmp_path, "--epochs", "3", name="a")
    _, _, b = train(tmp_path, "--epochs", "3", "--label-smoothing", "0.1", name="b")
    assert a["config"]["label_smoothing"] == 0.0 and b["config"]["label_smoothing"] == 0.1
    assert b["history"][0]["train_loss"] > a["history"][0]["train_loss"]  # smoothed targets: a higher floor


def test_preset_and_flags_combine(tmp_path):
    code, _, metrics = train(tmp_path, "--preset", "lab", "--epochs", "3", "--batch-size", "full")
    assert code == 0
    assert metrics["config"]["batch_size"] == "full" and metrics["config"]["epochs"] == 3
    assert len(metrics["history"]) == 3


def test_incompatible_output_and_loss_give_one_line_and_exit_2(tmp_path, capsys):
    """Single bad flags are covered by the corpus in test_bad_inputs.py; this is a bad combination of good ones."""
    out, needle = tmp_path / "out", "cross_entropy"
    code = main(["train", "--quiet", "--out", str(out), "--output", "identity", "--loss", "cross_entropy"])
    err = capsys.readouterr().err.strip()
    assert code == 2
    assert len(err.splitlines()) == 1 and err.startswith("mlplab: error:") and needle in err
    assert not out.exists()


def test_divergence_exits_non_zero_with_a_message(tmp_path, capsys):
    code = main(["train", "--quiet", "--out", str(tmp_path / "o"), "--lr", "1e6", "--activation", "relu"])
    err = capsys.readouterr().err.strip()
    assert code == 1 and "diverged" in err and "learning rate 1e+06" in err and len(err.splitlines()) == 1


def test_real_entry_point_reports_errors_without_traceback(tmp_path):
    proc = subprocess.run([sys.executable, "-m", "mlplab.cli", "train", "--epochs", "0"],
                          capture_output=True, text=True, cwd=tmp_path)
    assert proc.returncode == 2
    assert proc.stderr.strip().startswith("mlplab: error:") and "Traceback" not in proc.stderr


def test_help_explains_every_command():
    proc = subprocess.run([sys.executable, "-m", "mlplab.cli", "--help"], capture_output=True, text=True)
    assert proc.returncode == 0 and "train" in proc.stdout and "gradcheck" in proc.stdout
    proc = subprocess.run([sys.executable, "-m", "mlplab.cli", "train", "--help"], capture_output=True, text=True)
    for flag in ("--dataset", "--hidden", "--activation", "--output", "--loss", "--optimizer", "--lr",
                 "--momentum", "--batch-size", "--epochs", "--patience", "--init", "--seed", "--out", "--json"):
        assert flag in proc.stdout


def test_gradcheck_passes_on_the_engine(capsys):
    assert main(["gradcheck", "--hidden", "4,3", "--activation", "sigmoid", "--loss", "mse"]) == 0
    assert "W1" in capsys.readouterr().out


def test_gradcheck_fails_on_a_broken_gradient(monkeypatch, capsys):
    from mlplab import layers

    monkeypatch.setattr(layers.Linear, "backward", _broken_linear_backward(layers.Linear.backward))
    assert main(["gradcheck"]) == 1
    assert "NO" in capsys.readouterr().out


def _broken_linear_backward(original):
    def backward(self, x, delta, grad_x, dW, db):
        original(self, x, delta, grad_x, dW, db)
        db *= 0.9  # a wrong bias gradient

    return backward


def test_output_files_get_the_usual_permissions(tmp_path):
    """Atomic writes go through mkstemp (mode 0600); the final files follow the umask like any other file."""
    import os

    old = os.umask(0o022)
    try:
        _, out, _ = train(tmp_path, "--epochs", "2")
    finally:
        os.umask(old)
    for name in ("metrics.json", "curves.png", "boundary.png"):
        assert (out / name).stat().st_mode & 0o777 == 0o644
