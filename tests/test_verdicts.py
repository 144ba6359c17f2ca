"""Every verdict rule flips: fed measurements under which the seed's answer holds, partly holds or fails, each
rule returns the matching verdict. The rules are pure functions of the measurement dict, so no training here."""

from __future__ import annotations

import pytest

from mlplab.experiments import verdicts as rules
from mlplab.experiments.base import VERDICTS, Verdict


def q1(gain, se=0.01, rise=0.3):
    return {"test_loss_gain_mean": gain, "test_loss_gain_se": se, "val_loss_rise_mean": rise}


def q2(rho=0.9, gain=0.1, se=0.01, rho_gap=-0.9, k=1.0):
    return {"decisive": "circles", "datasets": {"circles": {
        "spearman_accuracy": rho, "accuracy_gain": gain, "accuracy_gain_se": se, "spearman_gap": rho_gap,
        "time_exponent_large_N": k}}}


def q3(ident=0.5, tanh=0.99, relu=0.99, gap=1e-7):
    return {"test_accuracy": {"circles/identity": ident, "circles/tanh": tanh, "circles/relu": relu},
            "identity_collapse_max_diff": gap}


def q4(sig=0.97, soft2=0.97, dead=0.0):
    return {"sigmoid_n_y1_test_accuracy": sig, "softmax_n_y2_test_accuracy": soft2, "softmax_n_y1_max_dev": dead}


def q8(up_ce=1.0, up_se=1.0, down_ce=1.0, down_se=1.0):
    return {"true_class_rises_fraction": {"cross_entropy": up_ce, "squared_error": up_se},
            "wrong_class_falls_fraction": {"cross_entropy": down_ce, "squared_error": down_se}, "ratio": 40.0}


def q10(spread=0.2, g=0.01, fastest="mini-batch 32"):
    return {"gd_stationary_loss_spread": spread, "gd_max_grad_norm": g, "fastest_per_second": fastest}


def q11(unstable=(30.0,), diverged=(), shrink=0.5, falling=True):
    return {"unstable_lrs": list(unstable), "diverged_lrs": list(diverged), "smallest_lr_grad_shrink": shrink,
            "smallest_lr_still_falling": falling, "smallest_lr_recent_drop": 0.02 if falling else 0.0}


def q13(moved=0.0, relu=0.99, tanh=0.99):
    return {"max_change_W1": {"step": moved}, "test_accuracy": {"relu": relu, "tanh": tanh}}


def q14(one_hot=1e-16, soft=1e-16, two=3.0):
    return {"one_hot_abs_diff": one_hot, "soft_sum1_abs_diff": soft, "sum2_abs_diff": two}


def grads(eng=1e-16, auto=1e-16):
    return {"max_abs_diff_engine": eng, "max_abs_diff_autograd": auto}


CASES = [
    # (rule, measurements, keyword arguments, expected verdict)
    (rules.verdict_q1, q1(0.06), {}, "confirmed"),
    (rules.verdict_q1, q1(0.005), {}, "partly"),
    (rules.verdict_q1, q1(0.06, rise=0.0), {}, "partly"),
    (rules.verdict_q1, q1(-0.06), {}, "contradicted"),
    (rules.verdict_q2, q2(), {}, "confirmed"),
    (rules.verdict_q2, q2(rho_gap=0.2), {}, "partly"),
    (rules.verdict_q2, q2(k=0.1), {}, "partly"),
    (rules.verdict_q2, q2(rho=0.2), {}, "contradicted"),
    (rules.verdict_q2, q2(gain=0.01, se=0.01), {}, "contradicted"),
    (rules.verdict_q3, q3(), {}, "confirmed"),
    (rules.verdict_q3, q3(tanh=0.6, relu=0.7), {}, "partly"),
    (rules.verdict_q3, q3(ident=0.95), {}, "contradicted"),
    (rules.verdict_q3, q3(gap=1e-2), {}, "contradicted"),
    (rules.verdict_q4, q4(), {}, "partly"),
    (rules.verdict_q4, q4(dead=0.3), {}, "confirmed"),
    (rules.verdict_q4, q4(sig=0.6), {}, "contradicted"),
    (rules.verdict_q4, {**q4(sig=0.94), "sigmoid_n_y1_test_accuracy_se": 0.03}, {}, "partly"),  # within noise
    (rules.verdict_q5, {"mean_p_true_class": 0.8, "n_classes": 10, "min_log10_one_minus_p_true": -3.0}, {}, "partly"),
    (rules.verdict_q5, {"mean_p_true_class": 0.8, "n_classes": 10, "min_log10_one_minus_p_true": None}, {},
     "confirmed"),
    (rules.verdict_q5, {"mean_p_true_class": 0.05, "n_classes": 10, "min_log10_one_minus_p_true": -3.0}, {},
     "contradicted"),
    (rules.verdict_q6, {"max_abs_row_sum_minus_1": 1e-7, "min_probability": 1e-5, "ece": 0.02}, {}, "confirmed"),
    (rules.verdict_q6, {"max_abs_row_sum_minus_1": 1e-7, "min_probability": 1e-5, "ece": 0.12}, {}, "partly"),
    (rules.verdict_q6, {"max_abs_row_sum_minus_1": 0.2, "min_probability": 1e-5, "ece": 0.02}, {}, "contradicted"),
    (rules.verdict_q7, {"engine_vs_reference_max_diff": 0.0, "seed_relu_vs_lab_tanh_max_diff": 0.25}, {}, "partly"),
    (rules.verdict_q7, {"engine_vs_reference_max_diff": 0.0, "seed_relu_vs_lab_tanh_max_diff": 0.0}, {}, "confirmed"),
    (rules.verdict_q7, {"engine_vs_reference_max_diff": 1e-3, "seed_relu_vs_lab_tanh_max_diff": 0.25}, {},
     "contradicted"),
    (rules.verdict_q8, q8(), {}, "confirmed"),
    (rules.verdict_q8, q8(down_se=0.45), {}, "partly"),
    (rules.verdict_q8, q8(up_ce=0.98), {}, "contradicted"),
    (rules.verdict_q9, {"ce_minus_se_accuracy_saturated": 0.2, "ce_minus_se_accuracy_saturated_sd": 0.05,
                    "regression_r2": 0.4}, {}, "confirmed"),
    (rules.verdict_q9, {"ce_minus_se_accuracy_saturated": 0.2, "ce_minus_se_accuracy_saturated_sd": 0.05,
                    "regression_r2": -0.1}, {}, "partly"),
    (rules.verdict_q9, {"ce_minus_se_accuracy_saturated": 0.0, "ce_minus_se_accuracy_saturated_sd": 0.05,
                    "regression_r2": 0.4}, {}, "partly"),
    (rules.verdict_q9, {"ce_minus_se_accuracy_saturated": 0.0, "ce_minus_se_accuracy_saturated_sd": 0.05,
                    "regression_r2": 0.0}, {}, "contradicted"),
    (rules.verdict_q10, q10(), {}, "contradicted"),
    (rules.verdict_q10, q10(spread=0.01), {}, "confirmed"),
    (rules.verdict_q10, q10(spread=0.01, fastest="online (1)"), {}, "partly"),
    (rules.verdict_q10, q10(g=0.5), {}, "confirmed"),
    (rules.verdict_q11, q11(), {}, "partly"),
    (rules.verdict_q11, q11(unstable=(), diverged=(100.0,), shrink=0.05, falling=False), {}, "confirmed"),
    (rules.verdict_q11, q11(unstable=(), diverged=()), {}, "contradicted"),
    (rules.verdict_q12, {"speedup_growth_with_depth": 40.0, "speedup_at_deepest": 2000.0}, {}, "partly"),
    (rules.verdict_q12, {"speedup_growth_with_depth": 40.0, "speedup_at_deepest": 2000.0},
     {"seed_gives_growth_rate": True}, "confirmed"),
    (rules.verdict_q12, {"speedup_growth_with_depth": 1.1, "speedup_at_deepest": 50.0}, {}, "contradicted"),
    (rules.verdict_q12, {"speedup_growth_with_depth": 3.0, "speedup_at_deepest": 0.5}, {}, "contradicted"),
    (rules.verdict_q13, q13(), {}, "partly"),
    (rules.verdict_q13, q13(relu=0.6), {}, "confirmed"),
    (rules.verdict_q13, q13(moved=0.3), {}, "contradicted"),
    (rules.verdict_q14, q14(), {}, "confirmed"),
    (rules.verdict_q14, q14(two=1e-12), {}, "partly"),
    (rules.verdict_q14, q14(one_hot=0.3), {}, "contradicted"),
    (rules.verdict_q15, {"max_abs_error_fused_vs_chain_rule": 1e-16}, {}, "confirmed"),
    (rules.verdict_q15, {"max_abs_error_fused_vs_chain_rule": 1e-3}, {}, "contradicted"),
    (rules.verdict_q16, grads(), {}, "not addressed"),
    (rules.verdict_q16, grads(), {"seed_answers": True}, "confirmed"),
    (rules.verdict_q16, grads(auto=1e-3), {"seed_answers": True}, "contradicted"),
    (rules.verdict_q16, grads(auto=None), {"seed_answers": True}, "confirmed"),
    (rules.verdict_q17, grads(), {}, "not addressed"),
    (rules.verdict_q17, grads(), {"seed_answers": True}, "confirmed"),
    (rules.verdict_q17, grads(eng=1e-2), {"seed_answers": True}, "contradicted"),
]


@pytest.mark.parametrize(("rule", "m", "kw", "expected"), CASES,
                         ids=[f"{c[0].__name__}-{i}-{c[3]}" for i, c in enumerate(CASES)])
def test_rule_gives_the_expected_verdict(rule, m, kw, expected):
    v = rule(m, **kw)
    assert isinstance(v, Verdict) and v.verdict == expected
    assert v.because  # says what decided it
    assert v.because.count("{") == v.because.count("}")


def test_every_rule_has_at_least_two_outcomes():
    outcomes = {}
    for rule, _, _, expected in CASES:
        outcomes.setdefault(rule.__name__, set()).add(expected)
    assert set(outcomes) == {f"verdict_q{i}" for i in range(1, 18)}
    assert all(len(v) >= 2 for v in outcomes.values()), outcomes


def test_partly_names_what_is_wrong():
    for rule, m, kw, expected in CASES:
        if expected == "partly":
            because = rule(m, **kw).because
            assert any(w in because for w in ("but", "not", "only", "does not")), because


def test_verdicts_are_the_four_words():
    assert VERDICTS == ("confirmed", "partly", "contradicted", "not addressed")
    with pytest.raises(ValueError):
        Verdict("maybe", "x")
    assert set(rules.RULES) == {f"Q{i}" for i in range(1, 18)}
