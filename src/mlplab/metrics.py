"""Regression scores in the targets' own units: RMSE, MAE, R², and the lab's squared-error loss.

One function, shared by ``runner.run`` (the run's test score) and ``mlplab evaluate``, so both report the
same numbers for the same model and rows.
"""

from __future__ import annotations

import numpy as np


def regression_metrics(y: np.ndarray, y_hat: np.ndarray) -> dict[str, float]:
    """{"loss", "rmse", "mae", "r2"} of predictions ``y_hat`` against targets ``y``, both (N, n_y).

    loss is the lab's squared error l = Σ_i (y_i − ŷ_i)² averaged over rows; rmse and mae average over every
    cell; r2 is the coefficient of determination averaged uniformly over the n_y targets (NaN for < 2 rows).
    """
    y = np.asarray(y, np.float64).reshape(len(y), -1)
    y_hat = np.asarray(y_hat, np.float64).reshape(y.shape)
    if len(y) == 0:
        return {"loss": float("nan"), "rmse": float("nan"), "mae": float("nan"), "r2": float("nan")}
    err = y_hat - y
    sq = err * err
    ss_res = sq.sum(axis=0)
    ss_tot = ((y - y.mean(axis=0)) ** 2).sum(axis=0)
    with np.errstate(divide="ignore", invalid="ignore"):
        r2 = np.where(ss_tot > 0, 1.0 - ss_res / ss_tot, np.where(ss_res == 0, 1.0, 0.0))
    return {
        "loss": float(sq.sum(axis=1).mean()),
        "rmse": float(np.sqrt(sq.mean())),
        "mae": float(np.abs(err).mean()),
        "r2": float(r2.mean()) if len(y) >= 2 else float("nan"),
    }
