"""The lab's experiments: each one's key measured conclusion, the report's files, the CLI, and Dask = serial.

One quick report run (module-scoped) feeds most tests; they assert conclusions, never hard-coded numbers.
"""

from __future__ import annotations

import importlib.util
import json
import math
import sys

import pytest

from conftest import require
from mlplab.cli import main
from mlplab.experiments import q11, q14_15, q16_17
from mlplab.experiments.base import VERDICTS
from mlplab.experiments.parallel import on_scheduler, pmap
from mlplab.experiments.seed import QUESTIONS
from mlplab.experiments.verdicts import RULES


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
    assert list(by_q) == QUESTIONS and len(QUESTIONS) == 17
    page = (out / "report.html").read_text()
    for q, e in by_q.items():
        assert e["verdict"] in VERDICTS
        assert e["answer"] and e["seed_claim"] and e["lab_expects"] and e["title"] and e["because"]
        assert e["figures"] and all((out / f).stat().st_size > 1000 for f in e["figures"])
        assert _numbers(e["measurements"]) >= 1
        assert f'id="{q}"' in page and "What the lab expects" in page
        assert e["verdict"] == RULES[q](e["measurements"]).verdict  # the summary's verdict is the rule's
    for q in ("Q7", "Q12", "Q14", "Q15", "Q16", "Q17"):
        assert by_q[q]["derivation"]
    assert by_q["Q16"]["verdict"] == by_q["Q17"]["verdict"] == "not addressed"  # the seed stops at Q15
    assert page.count("data:image/png;base64,") >= len(QUESTIONS)
    assert page.count("<math") >= 15 and "<script" not in page and "http" not in page.replace(
        "http://www.w3.org/1998/Math/MathML", "")  # native MathML, nothing fetched
    md = (out / "REPORT.md").read_text()
    assert all(f"## {q}\n" in md for q in QUESTIONS) and "## Reproduce" in md
    assert "(W_yᵀ δ_y) ⊙ (1 − h²)" in md and "∇_{W_y} l = δ_y hᵀ" in md  # derivations as readable text
    info = json.loads((out / "run.json").read_text())
    assert info["machine"]["cpu"] in md and "varied by up to" in md


def test_q1_validation_selection_on_a_large_test_set(report):
    x = m(report, "Q1")
    assert x["n_test"] >= 1000 and x["seeds"] >= 2
    for r in x["per_seed"]:
        assert r["best_epoch"] < r["epochs"] and r["val_loss_best"] <= r["val_loss_last"]
        assert r["train_loss_last"] < r["val_loss_best"]  # overfitting: training keeps falling
    gains = [r["test_loss_last"] - r["test_loss_selected"] for r in x["per_seed"]]
    assert x["test_loss_gain_mean"] == pytest.approx(sum(gains) / len(gains))


def test_q2_fixed_steps_and_a_trend(report):
    x = m(report, "Q2")
    c = x["datasets"]["circles"]
    assert len(c["steps"]) == 1  # the same number of gradient steps at every N
    assert 0.8 < x["circles_bayes_accuracy"] < 0.98
    assert c["spearman_accuracy"] > 0 and c["test_accuracy_mean"][-1] > c["test_accuracy_mean"][0]
    assert c["test_accuracy_mean"][-1] <= x["circles_bayes_accuracy"] + 0.02  # nobody beats the Bayes classifier
    assert all(sd >= 0 for sd in c["test_accuracy_sd"])


def test_q3_identity_cannot_separate_circles(report):
    acc = m(report, "Q3")["test_accuracy"]
    assert acc["circles/identity"] <= 0.75
    assert acc["circles/tanh"] >= 0.95 and acc["circles/relu"] >= 0.95
    assert m(report, "Q3")["identity_collapse_max_diff"] < 1e-4  # a product of linear maps
    assert "W1·W2·W3" in report[1]["Q3"]["answer"]


def test_q4_figure1_and_a_choice_made_on_validation(report):
    x = m(report, "Q4")
    assert x["figure1"] == {"n_x": 2, "n_h": 4, "n_y": 2}
    assert x["softmax_n_y1_max_dev"] == 0 and x["sigmoid_n_y1_sizes"] == [2, 4, 1]
    assert x["data_sizes"]["circles"] == {"n_x": 2, "n_y": 2, "task": "classification"}
    val = {int(k): v["val_accuracy"]["mean"] for k, v in x["sweep"].items()}
    assert x["val_best_n_h"] == max(val, key=val.get)  # chosen from validation numbers only
    assert x["chosen_val_accuracy"] == val[x["val_chosen_n_h"]]


def test_q5_q6_softmax_is_a_strictly_positive_distribution(report):
    x5, x6 = m(report, "Q5"), m(report, "Q6")
    assert x6["max_abs_row_sum_minus_1"] < 1e-5 and x6["min_probability"] >= 0
    assert 0 <= x6["ece"] <= 1
    assert x5["min_log10_one_minus_p_true"] < 0  # finite: ŷ never equals the one-hot y
    d = list(x6["soft_argmax"]["distance_to_one_hot_argmax"].values())
    assert d == sorted(d, reverse=True) and x6["soft_argmax"]["argmax_agreement"] == 1.0
    assert x6["mean_negative_log_likelihood"] == pytest.approx(x6["mean_cross_entropy"], rel=1e-3)


def test_q7_reference_and_engine_agree_and_relu_differs(report):
    x = m(report, "Q7")
    assert x["engine_vs_reference_max_diff"] < 1e-12
    assert x["seed_relu_vs_lab_tanh_max_diff"] > 1e-3


def test_q8_q9_cross_entropy_keeps_its_gradient(report):
    x8, x9 = m(report, "Q8"), m(report, "Q9")
    assert x8["grad_norm_ce"] > 10 * x8["grad_norm_se"]
    assert x8["true_class_rises_fraction"]["cross_entropy"] == 1.0
    t = x9["classification"]
    assert t["cross_entropy/init 3"]["test_accuracy_mean"] > t["mse/init 3"]["test_accuracy_mean"]
    assert x9["regression"]["sine_test_mse"] < 3 * x9["regression"]["sine_noise_variance"]
    assert x9["regression_r2"] > 0  # better than predicting the mean on real data


def test_q10_tuned_regimes_and_where_full_batch_stops(report):
    x = m(report, "Q10")
    r = x["regimes"]
    assert all(v["tuned_lr"] in x["lr_grid"] for v in r.values())
    for g, v in r.items():  # the tuned rate is the grid's best validation loss for that regime
        tried = [t for t in x["tuning"] if t["regime"] == g]
        assert v["tuned_lr"] == min(tried, key=lambda t: t["val_loss_final"])["lr"]
    assert r["online (1)"]["updates"] > r["mini-batch 32"]["updates"] > r["full batch"]["updates"]
    assert set(x["gd_end_kinds"]) <= {"minimum", "saddle"} and len(x["gd_ends"]) >= 2


def test_q11_threshold_separates_failing_from_working_rates(report):
    x = m(report, "Q11")
    thr = x["divergence_threshold_lr"]
    assert thr is not None
    assert not set(x["unstable_lrs"]) & set(x["diverged_lrs"])
    above = q11.point(2 * thr, x["epochs"])
    assert above["diverged"] or above["unstable"]
    below = q11.point(thr / 10, x["epochs"])
    assert not (below["diverged"] or below["unstable"]) and math.isfinite(below["final_loss"])


def test_q12_three_gradients_agree_and_backprop_pulls_ahead(report):
    x = m(report, "Q12")
    assert x["max_abs_diff_backprop_vs_naive"] < 1e-6 and x["max_abs_diff_backprop_vs_no_reuse"] < 1e-12
    assert x["speedup_growth_with_depth"] > 1.5
    assert x["fits"]["depth"]["naive_s"]["quadratic_share_largest"] > 0


def test_q13_step_activation_does_not_learn_its_hidden_layer(report):
    x = m(report, "Q13")
    assert x["max_change_W1"]["step"] == 0 and x["max_abs_grad_W1_after"]["step"] == 0
    assert x["test_accuracy"]["relu"] >= 0.95


def test_q14_q15_fused_loss_needs_sum_one_and_its_gradient_is_exact(report):
    x14, x15 = m(report, "Q14"), m(report, "Q15")
    assert x14["one_hot_abs_diff"] < 1e-12 and x14["soft_sum1_abs_diff"] < 1e-12 and x14["sum2_abs_diff"] > 0.1
    assert x14["fused_finite_at_all_scales"]
    assert x15["max_abs_error_fused_vs_chain_rule"] < 1e-9


def test_q16_q17_derivations_match_engine_and_autograd(report):
    require(importlib.util.find_spec("torch") is not None, "torch is not installed")
    for q in ("Q16", "Q17"):
        x = m(report, q)
        assert x["autograd_checked"] and x["max_abs_diff_autograd"] < 1e-12
        assert x["max_abs_diff_engine"] < 1e-12 and x["max_abs_diff_finite_differences"] < 1e-6


def test_q16_q17_without_torch_say_so(monkeypatch):
    monkeypatch.setitem(sys.modules, "torch", None)  # import torch now raises ImportError
    r = q16_17.run(quick=True)
    assert all(x.measurements["max_abs_diff_autograd"] is None for x in r.questions.values())
    assert q16_17.NO_TORCH in r.questions["Q16"].answer
    assert r.questions["Q17"].measurements["max_abs_diff_engine"] < 1e-12


def test_python_api_returns_data_without_writing():
    r = q14_15.run(quick=True)
    assert set(r.questions) == {"Q14", "Q15"} and r.figures == [] and r.files == []
    assert "Q15" in r.answer and r.measurements["Q15"]["cases"] > 0


def test_experiment_command_writes_figure_and_data(tmp_path, capsys):
    assert main(["experiment", "q15", "--quick", "--out", str(tmp_path)]) == 0
    assert (tmp_path / "q14_15.json").exists() and (tmp_path / "q15_gradient.png").exists()
    assert "Q15" in capsys.readouterr().out
    assert main(["experiment", "q17", "--quick", "--out", str(tmp_path / "g")]) == 0
    assert (tmp_path / "g" / "q16_17.json").exists() and (tmp_path / "g" / "q17_gradients.png").exists()
    printed = capsys.readouterr().out
    assert "Q16" in printed and "Q17" in printed and "not addressed" in printed


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
