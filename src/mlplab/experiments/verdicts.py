"""The verdict on the seed's answer to each question: a plain, pure function of that question's measurements.

``verdict_qN(m) -> Verdict`` reads only the dict the experiment reports as Q N's ``measurements``, so a rule
can be tested by feeding it made-up numbers (tests/test_verdicts.py makes every rule flip). A rule returns
"confirmed", "partly" (naming the detail in which the seed is wrong), "contradicted" or "not addressed",
with the number that decided it. Thresholds sit in the rules, next to the reason they encode.

Two inputs are not measurements but fixed facts about the seed's text, passed with defaults taken from it:
whether the seed states a growth rate at all (Q12), and whether it answers Q16/Q17 (it stops at Q15).
"""

from __future__ import annotations

import numpy as np

from mlplab.experiments.base import Verdict


def _g(x: float | None) -> str:
    return "none" if x is None else f"{x:.3g}"


def verdict_q1(m: dict) -> Verdict:
    """Validation selects, test estimates: does selecting on validation give a better model on the test set?

    Decided on the test loss (accuracy moves in steps of 1/n_test and can stay flat while the loss moves):
    gain = test loss of the last model − test loss of the validation-selected one, mean ± standard error
    over seeds."""
    gain, se = m["test_loss_gain_mean"], m["test_loss_gain_se"]
    if gain < -2 * se:
        return Verdict("contradicted", f"the validation-selected model is worse on test: loss gain {gain:.3g} "
                                       f"± {se:.2g} (SE)")
    if gain > 2 * se and m["val_loss_rise_mean"] > 0.1:
        return Verdict("confirmed", f"validation loss rises {m['val_loss_rise_mean']:.0%} after its minimum, and "
                                    f"selecting there lowers the test loss by {gain:.3g} ± {se:.2g} (SE)")
    return Verdict("partly", f"validation does not measurably help here: test loss gain {gain:.3g} ± {se:.2g} "
                             f"(SE), validation rise {m['val_loss_rise_mean']:.0%}")


def verdict_q2(m: dict) -> Verdict:
    """More examples → better test accuracy (trend, not endpoints), a smaller gap, a costlier epoch."""
    d = m["datasets"][m["decisive"]]
    rho, gain, se = d["spearman_accuracy"], d["accuracy_gain"], d["accuracy_gain_se"]
    if rho < 0.5 or gain <= 2 * se:
        return Verdict("contradicted", f"{m['decisive']}: test accuracy does not rise significantly with N "
                                       f"(Spearman ρ = {rho:.2f}, gain {gain:.3f} against 2 × SE {2 * se:.3f})")
    if d["spearman_gap"] > -0.5:
        return Verdict("partly", f"{m['decisive']}: accuracy rises (ρ = {rho:.2f}) but the train–test gap does not "
                                 f"shrink with N (ρ = {d['spearman_gap']:.2f}): small N did not overfit more")
    if d["time_exponent_large_N"] < 0.5:
        return Verdict("partly", f"{m['decisive']}: accuracy rises (ρ = {rho:.2f}) but an epoch does not cost more "
                                 f"with N (time ∝ N^{d['time_exponent_large_N']:.2f})")
    return Verdict("confirmed", f"{m['decisive']}: accuracy rises with N (Spearman ρ = {rho:.2f}, gain {gain:.3f} "
                                f"> 2 × SE {2 * se:.3f}), gap falls (ρ = {d['spearman_gap']:.2f}), epoch time "
                                f"∝ N^{d['time_exponent_large_N']:.2f}")


def verdict_q3(m: dict) -> Verdict:
    """Without activations the net is one linear map: identity at chance on circles, its map a product."""
    acc, gap = m["test_accuracy"], m["identity_collapse_max_diff"]
    ident, best = acc["circles/identity"], max(acc["circles/tanh"], acc["circles/relu"])
    if ident >= 0.9 or gap > 1e-4:
        return Verdict("contradicted", f"the identity network is not one linear map: circles accuracy {ident:.3f}, "
                                       f"collapse gap {gap:.1e}")
    if best < 0.9:
        return Verdict("partly", f"the identity network is linear (gap {gap:.1e}), but the non-linear ones did not "
                                 f"do better here (best {best:.3f})")
    return Verdict("confirmed", f"identity {ident:.3f} on circles (chance 0.5) against {best:.3f} with a "
                                f"non-linearity; the identity net equals its collapsed map to {gap:.1e}")


def verdict_q4(m: dict) -> Verdict:
    """The seed gives n_y = 1 for two classes: true only for a sigmoid output, never under a SoftMax."""
    sig, soft2, dead = m["sigmoid_n_y1_test_accuracy"], m["softmax_n_y2_test_accuracy"], m["softmax_n_y1_max_dev"]
    se = float(np.hypot(m.get("sigmoid_n_y1_test_accuracy_se", 0.0), m.get("softmax_n_y2_test_accuracy_se", 0.0)))
    if sig < soft2 - max(0.02, 2 * se):
        return Verdict("contradicted", f"n_y = 1 does not work even with a sigmoid: {sig:.3f} against {soft2:.3f} "
                                       f"(2 × SE {2 * se:.3f})")
    if dead < 1e-12:
        return Verdict("partly", f"n_y = 1 works only with a sigmoid output ({sig:.3f} vs {soft2:.3f} for a "
                                 f"2-output SoftMax); a 1-output SoftMax is the constant 1 (max |ŷ − 1| = {dead:.0e}), "
                                 f"so the lab's figure 1 has n_y = 2")
    return Verdict("confirmed", f"n_y = 1 works with either output ({sig:.3f}, SoftMax deviation {dead:.1e})")


def verdict_q5(m: dict) -> Verdict:
    """ŷ predicts y: does it track it (more than chance on the true class), and can it ever equal it?"""
    p, chance, gap = m["mean_p_true_class"], 1 / m["n_classes"], m["min_log10_one_minus_p_true"]
    if p <= chance:
        return Verdict("contradicted", f"ŷ does not track y: mean ŷ[true] = {p:.3f} ≤ chance {chance:.3f}")
    if gap is not None:
        return Verdict("partly", f"ŷ tracks y (mean ŷ[true] = {p:.3f}) but is a distribution with strictly positive "
                                 f"entries that never equals the one-hot y: smallest 1 − ŷ[true] = 10^{gap:.1f}")
    return Verdict("confirmed", f"ŷ tracks y (mean ŷ[true] = {p:.3f}) and reaches it exactly on some example")


def verdict_q6(m: dict) -> Verdict:
    """SoftMax gives a probability distribution — and are its numbers probabilities (calibration)?"""
    dev, lo, ece = m["max_abs_row_sum_minus_1"], m["min_probability"], m["ece"]
    if dev > 1e-4 or lo < 0:
        return Verdict("contradicted", f"rows are not distributions: |Σŷ − 1| up to {dev:.1e}, min ŷ {lo:.1e}")
    if ece > 0.05:
        return Verdict("partly", f"a distribution (|Σŷ − 1| ≤ {dev:.1e}), but not calibrated class probabilities: "
                                 f"ECE {ece:.3f} > 0.05")
    return Verdict("confirmed", f"rows sum to 1 within {dev:.1e} and confidence matches accuracy (ECE {ece:.3f})")


def verdict_q7(m: dict) -> Verdict:
    """The forward equations: does the lab's-notation network equal the engine, and is the seed's σ the lab's?"""
    eng, act = m["engine_vs_reference_max_diff"], m["seed_relu_vs_lab_tanh_max_diff"]
    if eng > 1e-9:
        return Verdict("contradicted", f"the equations do not compute the network: engine − reference {eng:.1e}")
    if act > 1e-6:
        return Verdict("partly", f"the equations are right, but the seed's σ is ReLU where the lab's network uses "
                                 f"tanh: same weights, ŷ differs by up to {act:.3f}")
    return Verdict("confirmed", f"engine = reference to {eng:.1e}")


def verdict_q8(m: dict) -> Verdict:
    """'Every ŷ_i moves toward y_i': after one small gradient step on ỹ, which probabilities moved which way?"""
    up, down = m["true_class_rises_fraction"], m["wrong_class_falls_fraction"]
    if min(up.values()) < 1.0:
        worst = min(up, key=up.get)
        return Verdict("contradicted", f"a gradient step lowered ŷ[true] on {1 - up[worst]:.1%} of examples "
                                       f"({worst})")
    if min(down.values()) < 1.0:
        worst = min(down, key=down.get)
        return Verdict("partly", f"ŷ[true] always rises, but not every wrong-class ŷ_i falls: {1 - down[worst]:.1%} "
                                 f"rose under {worst}; and the two losses push with very different strength "
                                 f"(×{m['ratio']:.0f} on a confident mistake)")
    return Verdict("confirmed", "every ŷ_i moved toward y_i under both losses")


def verdict_q9(m: dict) -> Verdict:
    """CE for classification (it keeps its gradient on confident mistakes), squared error for regression."""
    d, sd, r2 = m["ce_minus_se_accuracy_saturated"], m["ce_minus_se_accuracy_saturated_sd"], m["regression_r2"]
    cls_ok, reg_ok = d > sd, r2 > 0.2
    if cls_ok and reg_ok:
        return Verdict("confirmed", f"from a saturated start CE beats squared error by {d:.3f} ± {sd:.3f} accuracy; "
                                    f"squared error fits real regression data (test R² {r2:.3f})")
    if cls_ok or reg_ok:
        what = (f"squared error did not fit the regression (R² {r2:.3f})" if cls_ok else
                f"CE did not beat squared error on classification ({d:.3f} ± {sd:.3f})")
        return Verdict("partly", what)
    return Verdict("contradicted", f"neither: CE − SE accuracy {d:.3f} ± {sd:.3f}, regression R² {r2:.3f}")


def verdict_q10(m: dict) -> Verdict:
    """'Full batch converges to the global minimum'; 'mini-batch is the reasonable default'."""
    spread, g = m["gd_stationary_loss_spread"], m["gd_max_grad_norm"]
    if spread > 0.05 and g < 0.05:
        return Verdict("contradicted", f"full-batch GD stalls at different losses (spread {spread:.3f}, gradient "
                                       f"norms ≤ {g:.1e}): not the global minimum")
    if not m["fastest_per_second"].startswith("mini"):
        return Verdict("partly", f"full batch reached one loss level (spread {spread:.3f}), but with tuned rates "
                                 f"{m['fastest_per_second']} was fastest per second, not mini-batch")
    return Verdict("confirmed", f"one loss level for full batch (spread {spread:.3f}); mini-batch fastest per second")


def verdict_q11(m: dict) -> Verdict:
    """Too large a rate diverges; too small a rate is slow 'or converges to a local minimum'."""
    if not m["unstable_lrs"] and not m["diverged_lrs"]:
        return Verdict("contradicted", "no rate on the grid made training unstable or diverge")
    shrink, falling = m["smallest_lr_grad_shrink"], m["smallest_lr_still_falling"]
    if shrink > 0.1 or falling:
        return Verdict("partly", f"large rates do blow up, but too small a rate is slow, not trapped in a local "
                                 f"minimum: its final gradient is still {shrink:.0%} of its initial size and its "
                                 f"loss fell {m['smallest_lr_recent_drop'] or 0:.1%} in the last fifth")
    return Verdict("confirmed", f"large rates blow up; the smallest rate stalls at a stationary point (gradient "
                                f"down to {shrink:.1%} of its initial size, loss no longer falling)")


SEED_GIVES_GROWTH_RATE = False  # the seed's Q12 says backprop "considerably reduces the complexity", no order


def verdict_q12(m: dict, seed_gives_growth_rate: bool = SEED_GIVES_GROWTH_RATE) -> Verdict:
    """Backprop reuses derivatives: does its advantage grow with depth (a complexity gap, not a constant)?"""
    growth, speed = m["speedup_growth_with_depth"], m["speedup_at_deepest"]
    if speed < 1 or growth < 1.5:
        return Verdict("contradicted", f"backprop's advantage does not grow with depth: ×{speed:.1f} at the deepest, "
                                       f"growth ×{growth:.2f} over the sweep")
    if not seed_gives_growth_rate:
        return Verdict("partly", f"reuse wins and the gap widens with depth (speed-up ×{speed:.0f}, growing "
                                 f"×{growth:.1f}), but the seed gives no complexity: finite differences cost "
                                 f"O(P) passes = O(L²w⁴), backprop O(L·w²)")
    return Verdict("confirmed", f"speed-up ×{speed:.0f}, growing ×{growth:.1f} with depth")


def verdict_q13(m: dict) -> Verdict:
    """'Continuous transformations and derivatives, differentiable activations': which does backprop need?"""
    moved, acc = m["max_change_W1"]["step"], m["test_accuracy"]
    if moved > 0 or acc["tanh"] < 0.9:
        return Verdict("contradicted", f"step's hidden layer moved ({moved:.2g}) or a smooth net failed "
                                       f"({acc['tanh']:.3f})")
    if acc["relu"] >= 0.9:
        return Verdict("partly", f"a zero derivative stops backprop (step's W1 moved {moved:.0f}), but continuous "
                                 f"derivatives are not needed: ReLU, with a jump in its derivative, reaches "
                                 f"{acc['relu']:.3f}")
    return Verdict("confirmed", f"step frozen and ReLU (discontinuous derivative) fails ({acc['relu']:.3f})")


def verdict_q14(m: dict) -> Verdict:
    """The simplification −Σ y ỹ + log Σ e^ỹ: exact for one-hot y, and does it need Σ y_i = 1 as the seed says?"""
    one_hot, soft, two = m["one_hot_abs_diff"], m["soft_sum1_abs_diff"], m["sum2_abs_diff"]
    if one_hot > 1e-9 or soft > 1e-9:
        return Verdict("contradicted", f"the simplified loss differs from −Σ y log ŷ by {max(one_hot, soft):.1e} "
                                       f"even with Σ y = 1")
    if two < 1e-9:
        return Verdict("partly", f"the simplification holds even when Σ y ≠ 1 ({two:.1e}): the seed's condition is "
                                 f"not needed")
    return Verdict("confirmed", f"exact when Σ y_i = 1 ({max(one_hot, soft):.1e}, one-hot or soft), off by "
                                f"{two:.3g} when Σ y_i = 2: the condition the seed names is needed")


def verdict_q15(m: dict) -> Verdict:
    """∂l/∂ỹ = ŷ − y, against the chain rule through the SoftMax Jacobian."""
    err = m["max_abs_error_fused_vs_chain_rule"]
    if err < 1e-9:
        return Verdict("confirmed", f"ŷ − y equals Jᵀ(−y/ŷ) to {err:.1e}")
    return Verdict("contradicted", f"ŷ − y differs from the chain rule by {err:.1e}")


def _gradient_rule(q: str, m: dict, seed_answers: bool) -> Verdict:
    eng, auto = m["max_abs_diff_engine"], m["max_abs_diff_autograd"]
    if not seed_answers:
        return Verdict("not addressed", f"the seed stops at Q15; the derivation matches the engine to {_g(eng)} and "
                                        f"autograd to {_g(auto)}")
    worst = max(eng, auto if auto is not None else 0.0)
    if worst < 1e-9:
        return Verdict("confirmed", f"{q}: derivation = engine = autograd to {worst:.1e}")
    return Verdict("contradicted", f"{q}: derivation off by {worst:.1e}")


SEED_ANSWERS_Q16_Q17 = False  # the seed's sheet ends with Q15


def verdict_q16(m: dict, seed_answers: bool = SEED_ANSWERS_Q16_Q17) -> Verdict:
    """∇_{W_y} l = δ_y hᵀ, ∇_{b_y} l = δ_y: not in the seed, so "not addressed" (the numbers are still shown)."""
    return _gradient_rule("Q16", m, seed_answers)


def verdict_q17(m: dict, seed_answers: bool = SEED_ANSWERS_Q16_Q17) -> Verdict:
    """δ_h = (W_yᵀ δ_y) ⊙ (1 − h²), ∇_{W_h} l = δ_h xᵀ, ∇_{b_h} l = δ_h: not in the seed either."""
    return _gradient_rule("Q17", m, seed_answers)


RULES = {f"Q{i}": globals()[f"verdict_q{i}"] for i in range(1, 18)}
