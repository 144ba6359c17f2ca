"""The lab's experiments: each one's key measured conclusion, the report's files, the CLI, and Dask = serial.

One quick report run (module-scoped) feeds most tests; they assert conclusions, never hard-coded numbers.
"""

from __future__ import annotations

import json
import math

import pytest

from conftest import require
from mlplab.cli import main
from mlplab.experiments import q11, q14_15
from mlplab.experiments.parallel import on_scheduler, pmap
from mlplab.experiments.seed import QUESTIONS


@pytest.fixture(scope="module")
def report(tmp_path_factory):
    out = tmp_path_factory.mktemp("report")
    assert main(["report", "--quick", "--out", str(out)]) == 0
    summary = json.loads((out / "summary.json").read_text())
    return out, {e["question"]: e for e in summary}


def m(report, q):
    return report[1][q]["measurements"]


def _numbers(x) -> int:
    if isinstance(x, dict):
        return sum(_numbers(v) for v in x.values())
    if isinstance(x, list):
        return sum(_numbers(v) for v in x)
    return int(isinstance(x, int | float) and not isinstance(x, bool))


def test_report_covers_every_question(report):
    out, by_q = report
    assert list(by_q) == QUESTIONS
    page = (out / "report.html").read_text()
    for q, e in by_q.items():
        assert e["verdict"] in ("confirmed", "contradicted", "not addressed")
        assert e["answer"] and e["seed_claim"]
        assert e["figures"] and all((out / f).stat().st_size > 1000 for f in e["figures"])
        assert _numbers(e["measurements"]) >= 1
        assert f'id="{q}"' in page
    assert page.count("data:image/png;base64,") >= len(QUESTIONS)
    assert "Contents" in page
    md = (out / "REPORT.md").read_text()
    assert all(f"## {q}" in md for q in QUESTIONS)


def test_q1_validation_selects_a_better_model_than_the_last(report):
    x = m(report, "Q1")
    assert x["best_epoch"] < x["epochs"]
    assert x["val_loss_last"] > x["val_loss_best"]  # overfitting: validation turns back up
    assert x["train_loss_last"] < x["val_loss_best"]
    assert x["test_loss_selected"] < x["test_loss_last"]


def test_q2_more_data_generalises_better(report):
    c = m(report, "Q2")["datasets"]["circles"]
    assert c["test_accuracy"][-1] > c["test_accuracy"][0]
    assert c["gap"][-1] < c["gap"][0]
    assert c["seconds_per_epoch"][-1] > c["seconds_per_epoch"][0]


def test_q3_identity_cannot_separate_circles(report):
    acc = m(report, "Q3")["test_accuracy"]
    assert acc["circles/identity"] <= 0.75
    assert acc["circles/tanh"] >= 0.95 and acc["circles/relu"] >= 0.95
    assert m(report, "Q3")["identity_collapse_max_diff"] < 1e-4  # a product of linear maps


def test_q4_sizes_from_data_and_hidden_sweep(report):
    x = m(report, "Q4")
    assert x["data_sizes"]["circles"] == {"n_x": 2, "n_y": 2, "task": "classification"}
    assert x["data_sizes"]["spiral"]["n_y"] == 3
    assert x["best_test_accuracy"] > x["test_accuracy_n_h_1"] + 0.05


def test_q5_q6_softmax_is_a_distribution(report):
    x6 = m(report, "Q6")
    assert x6["max_abs_row_sum_minus_1"] < 1e-5 and x6["min_probability"] >= 0
    assert 0 <= x6["ece"] <= 1
    ex = m(report, "Q5")["examples"][0]
    assert sorted(ex["y"]) == [0] * (len(ex["y"]) - 1) + [1]


def test_q7_reference_and_engine_agree(report):
    d = m(report, "Q7")["max_abs_diff"]["float64"]
    assert max(d.values()) < 1e-12


def test_q8_q9_cross_entropy_keeps_its_gradient(report):
    x8, x9 = m(report, "Q8"), m(report, "Q9")
    assert x8["grad_norm_ce"] > 10 * x8["grad_norm_se"]
    t = x9["classification"]
    assert t["cross_entropy/init 3"]["test_accuracy_mean"] > t["mse/init 3"]["test_accuracy_mean"]
    assert x9["regression"]["test_mse"] < 3 * x9["regression"]["noise_variance"]


def test_q10_full_batch_reaches_different_minima(report):
    x = m(report, "Q10")
    g = x["gd_minima"]
    assert g["spread"] > 0.05 and max(g["grad_norms"]) < 0.05
    assert report[1]["Q10"]["verdict"] == "contradicted"
    r = x["regimes"]
    assert r["online (1)"]["updates"] > r["mini-batch 16"]["updates"] > r["full batch"]["updates"]
    assert r["mini-batch 16"]["final_loss_mean"] < r["full batch"]["final_loss_mean"]


def test_q11_diverges_above_the_threshold_not_well_below(report):
    thr = m(report, "Q11")["divergence_threshold_lr"]
    assert thr is not None
    epochs = m(report, "Q11")["epochs"]
    assert q11.point(2 * thr, epochs)["diverged"]
    below = q11.point(thr / 10, epochs)
    assert not below["diverged"] and math.isfinite(below["final_loss"])


def test_q12_naive_gradient_grows_faster_with_depth(report):
    x = m(report, "Q12")
    assert x["depth_exponent_naive"] - x["depth_exponent_backprop"] >= 0.8
    assert x["max_abs_diff_backprop_vs_naive"] < 1e-6


def test_q13_step_activation_does_not_learn(report):
    x = m(report, "Q13")
    assert x["max_change_W1"]["step"] == 0 and x["max_abs_grad_W1_after"]["step"] == 0
    assert abs(x["test_accuracy"]["step"] - 0.5) <= 0.1
    assert x["test_accuracy"]["relu"] >= 0.95


def test_q14_q15_fused_loss_is_stable_and_its_gradient_exact(report):
    x14, x15 = m(report, "Q14"), m(report, "Q15")
    assert x14["fused_finite_at_all_scales"]
    assert x14["first_scale_naive_nonfinite"]["float32"] is not None
    assert x15["max_abs_error_fused_vs_chain_rule"] < 1e-9


def test_python_api_returns_data_without_writing():
    r = q14_15.run(quick=True)
    assert set(r.questions) == {"Q14", "Q15"} and r.figures == [] and r.files == []
    assert "Q15" in r.answer and r.measurements["Q15"]["cases"] > 0


def test_experiment_command_writes_figure_and_data(tmp_path, capsys):
    assert main(["experiment", "q15", "--quick", "--out", str(tmp_path)]) == 0
    assert (tmp_path / "q14_15.json").exists() and (tmp_path / "q15_gradient.png").exists()
    assert "Q15" in capsys.readouterr().out


def test_bad_experiment_name_is_one_line_exit_2(capsys):
    assert main(["experiment", "q99", "--quick"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("mlplab: error:") and "q99" in err and "\n" not in err
    assert main(["report", "--quick"]) == 2  # --out is required


def test_sweep_same_with_processes_and_on_dask():
    lrs, epochs = [0.1, 1.0, 100.0], 15
    serial = q11.sweep(lrs, epochs)
    assert pmap(q11.point, [{"lr": lr, "epochs": epochs} for lr in lrs], jobs=2) == serial
    try:
        from dask.distributed import LocalCluster
    except ImportError:
        require(False, "dask[distributed] is not installed")
    with LocalCluster(n_workers=1, processes=False, host="127.0.0.1", protocol="tcp",
                      dashboard_address=None) as cluster, \
            on_scheduler(cluster.scheduler_address):
        on_dask = q11.sweep(lrs, epochs, jobs=2)
    assert on_dask == serial


def test_unreachable_scheduler_is_a_config_error():
    from mlplab.errors import ConfigError

    with pytest.raises(ConfigError, match=r"127\.0\.0\.1:9"), on_scheduler("tcp://127.0.0.1:9", timeout="1s"):
        pass
