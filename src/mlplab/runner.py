"""One training run from a flat configuration: data → split → network → optimizer → trainer → test score.

Shared by the ``mlplab train`` command, the experiments and the report, so they all train the same way.
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from mlplab.config import RunConfig
from mlplab.data import DataPaths, Dataset, Splits, Standardizer, load_dataset, split
from mlplab.data.encoding import TableEncoding
from mlplab.data.split import standardize_targets
from mlplab.metrics import regression_metrics
from mlplab.modelfile import save_model
from mlplab.network import MLP
from mlplab.registry import make_optimizer, n_classes
from mlplab.train import EpochRecord, Trainer


@dataclass
class Prepared:
    """The data side of a run: the dataset, its scaled splits and the scaler fitted on training rows."""

    dataset: Dataset
    splits: Splits
    scaler: Standardizer
    target_scaler: Standardizer | None = None  # regression with an identity output: y standardised for training


@dataclass
class RunResult:
    config: RunConfig
    net: MLP
    trainer: Trainer
    prepared: Prepared
    test_loss: float
    test_accuracy: float
    extra: dict = field(default_factory=dict)
    test_regression: dict | None = None  # regression: {"loss", "rmse", "mae", "r2"} in the targets' own units

    @property
    def history(self) -> list[EpochRecord]:
        return self.trainer.history

    def as_json(self) -> dict:
        """The metrics file: {"config", "history": [...], "test": {"loss", "accuracy"}, ...}.

        A regression's "test" is {"loss", "rmse", "mae", "r2"} in the targets' own units (the history's
        losses are in the standardised units the network trained on).
        """
        acc = None if math.isnan(self.test_accuracy) else self.test_accuracy
        st = self.trainer.state
        test = {"loss": _finite_or_none(self.test_loss), "accuracy": acc}
        if self.test_regression is not None:
            test = {k: _finite_or_none(v) for k, v in self.test_regression.items()}
        return {
            "config": self.config.as_json(),
            "history": [r.as_json() for r in self.history],
            "test": test,
            "best_epoch": st.best_epoch if st.best_epoch >= 0 else None,
            "stopped_early": st.stopped_early,
            "n_params": self.net.n_params,
            "sizes": self.net.sizes,
        }


def _finite_or_none(x: float) -> float | None:
    return x if math.isfinite(x) else None


def prepare(config: RunConfig, data_paths: DataPaths | None = None) -> Prepared:
    """Load and split the configured dataset, scaled with training statistics (targets too, for regression).

    ``data_paths``: where named IDX datasets are looked for after ``config.data_dir`` (default ``DataPaths()``).
    """
    ds = load_dataset(
        config.dataset, n_samples=config.n_samples, noise=config.noise, seed=config.seed,
        data_dir=config.data_dir, data_paths=data_paths, label_column=config.label_column, task=config.task,
        categorical=config.categorical, impute=config.impute,
    )
    splits, scaler = split(ds, config.val_fraction, config.test_fraction, seed=config.seed, dtype=config.dtype,
                           impute=config.impute)
    target_scaler = None
    if ds.task == "regression" and for_task(config, ds.task).output == "identity":
        target_scaler = standardize_targets(splits)
    return Prepared(ds, splits, scaler, target_scaler)


def for_task(config: RunConfig, task: str) -> RunConfig:
    """A regression trains an identity output with squared error: a softmax or cross-entropy setting (the
    classification defaults) is replaced; a sigmoid output (targets in [0, 1]) is kept."""
    if task != "regression":
        return config
    return config.with_(output="identity" if config.output == "softmax" else config.output,
                        loss="mse" if config.output != "sigmoid" else config.loss)


def build(config: RunConfig, n_x: int, n_y: int, *, engine: str = "auto",
          threads: int | None = None) -> tuple[MLP, Trainer]:
    """The network, optimizer and trainer a configuration describes (engine and threads: see ``Trainer``)."""
    net = MLP(
        [n_x, *config.hidden, n_y], config.activation, config.output, config.loss,
        init=config.init, init_scale=config.init_scale, dropout=config.dropout, seed=config.seed,
        dtype=config.dtype,
    )
    opt = make_optimizer(config.optimizer, net.params, config.lr, config.momentum, config.nesterov,
                         config.weight_decay)
    trainer = Trainer(
        net, opt, epochs=config.epochs, batch_size=config.batch_size, schedule=config.schedule,
        patience=config.patience, seed=config.seed, engine=engine, threads=threads,
        label_smoothing=config.label_smoothing,
    )
    return net, trainer


def run(config: RunConfig, callbacks: list | tuple = (), prepared: Prepared | None = None,
        on_nonfinite: str = "raise", setup: Callable[[MLP, Trainer], None] | None = None, *,
        engine: str = "auto", threads: int | None = None, data_paths: DataPaths | None = None) -> RunResult:
    """Train as configured and score the (restored best) network on the test split.

    ``setup(net, trainer)`` runs after building and before training: resuming uses it to restore a checkpoint.
    ``data_paths`` is passed to ``prepare`` when ``prepared`` is not given.
    """
    prepared = prepared or prepare(config, data_paths)
    s, ds = prepared.splits, prepared.dataset
    config = for_task(config, ds.task)
    n_y = ds.n_outputs
    net, trainer = build(config, s.X_train.shape[1], n_y, engine=engine, threads=threads)
    if setup is not None:
        setup(net, trainer)
    trainer.callbacks.extend(callbacks)
    trainer.on_nonfinite = on_nonfinite
    trainer.fit(s.X_train, s.y_train, s.X_val, s.y_val)
    test_loss, test_acc = scores_on_test(net, s)
    scores = None
    if ds.task == "regression":
        y_true, y_hat = original_targets(prepared, s.y_test), original_targets(prepared, net.forward(s.X_test))
        scores = regression_metrics(y_true, y_hat)
        test_loss = scores["loss"] if prepared.target_scaler is not None else test_loss
        scores["loss"] = test_loss
    return RunResult(config, net, trainer, prepared, test_loss, test_acc, test_regression=scores)


def scores_on_test(net: MLP, splits: Splits) -> tuple[float, float]:
    """(loss, accuracy) of ``net`` on the test split; NaN for both when the split is empty (test_fraction 0)."""
    if len(splits.X_test):
        return net.evaluate(splits.X_test, splits.y_test)
    return math.nan, math.nan


def original_targets(prepared: Prepared, Y: np.ndarray) -> np.ndarray:
    """Targets or outputs (N, n_y) in standard units → the targets' own units (unchanged without a scaler)."""
    Y = np.asarray(Y).reshape(len(Y), -1)
    return prepared.target_scaler.inverse(Y) if prepared.target_scaler is not None else Y.astype(np.float64)


def predict_original(net: MLP, scaler: Standardizer, X: np.ndarray) -> np.ndarray:
    """ŷ for raw (unscaled) inputs."""
    return net.forward(scaler.transform(X, net.dtype))


def save_run_model(result: RunResult, path: str | os.PathLike) -> None:
    """Save a run's network as a model file (``modelfile.save_model``) with its scaler, class names and settings."""
    ds, net = result.prepared.dataset, result.net
    class_names = ds.class_names
    if ds.task == "classification" and class_names is None:
        class_names = [str(k) for k in range(n_classes(net.output, net.sizes[-1]))]
    pixel_max = float(np.max(ds.X)) if ds.image_shape and ds.X.size else None
    features = ds.meta.get("features")
    if not (isinstance(features, list) and len(features) == net.sizes[0]):
        features = None
    targets = ds.meta.get("targets") if ds.task == "regression" else None
    if not (isinstance(targets, list) and len(targets) == net.sizes[-1]):
        targets = None
    enc = ds.meta.get("encoding")
    encoding = TableEncoding.from_json(enc, net.sizes[0], "dataset") if enc is not None else None
    save_model(path, net, result.prepared.scaler, class_names, ds.task, image_shape=ds.image_shape,
               pixel_max=pixel_max, split=result.config.as_json(), features=features,
               target_scaler=result.prepared.target_scaler, targets=targets, encoding=encoding,
               imputer=result.prepared.splits.imputer)
