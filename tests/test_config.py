"""RunConfig owns its defaults and its one check; checkpoints, model files and the CLI read them from it."""

from __future__ import annotations

from dataclasses import fields

import numpy as np
import pytest

from mlplab.cli.train import TRAIN_OPTIONS, train_cmd
from mlplab.config import RULES, RunConfig
from mlplab.errors import ConfigError

HOSTILE = {
    "dataset": [None, 3, ""], "n_samples": [0, 2.5, "10", True], "noise": [-1, "x", float("nan")],
    "hidden": [["x"], [0], "10", [True], None], "activation": ["gelu", ["tanh"], None],
    "output": ["tanh", 1], "loss": ["hinge"], "optimizer": ["rmsprop"], "lr": [0, -0.1, float("inf"), "0.1", True],
    "momentum": [1.0, -0.1], "nesterov": [1, "yes"], "weight_decay": [-1], "schedule": ["linear"],
    "batch_size": [0, "all", 1.5], "epochs": [-1, 1.5, None], "patience": [0], "init": ["zeros"],
    "init_scale": [float("nan"), "big"], "dropout": [1.0, -0.5], "label_smoothing": [1.0, -0.1, "0.1"],
    "seed": [1.5, None, "0"], "dtype": ["float16"],
    "val_fraction": [1.0, -0.1], "test_fraction": [2], "data_dir": [3], "label_column": [1.5, ["a"]],
    "task": ["clustering"], "categorical": ["ordinal", None], "impute": ["zero", 0],
}


def test_every_setting_has_one_rule_and_a_hostile_case():
    assert set(RULES) == {f.name for f in fields(RunConfig)} == set(HOSTILE)


@pytest.mark.parametrize("name", sorted(HOSTILE))
def test_invalid_settings_are_one_clear_error(name):
    for value in HOSTILE[name]:
        with pytest.raises(ConfigError, match=f"^invalid setting {name} = .+: "):
            RunConfig.from_json(RunConfig().as_json() | {name: value})


def test_json_round_trip_defaults_and_numpy_values():
    c = RunConfig(hidden=[256, 128], batch_size=None, seed=np.int64(3), lr=np.float32(0.5))
    assert c.hidden == (256, 128)
    assert RunConfig.from_json(c.as_json()) == c
    assert c.as_json()["batch_size"] == "full"
    assert RunConfig.from_json({"future_setting": 1}) == RunConfig()  # unknown keys ignored, defaults filled
    with pytest.raises(ConfigError, match="JSON object"):
        RunConfig.from_json(["dataset"])
    with pytest.raises(ConfigError, match="invalid setting lr"):
        RunConfig().with_(lr=-1)


def test_train_flags_show_the_run_config_defaults():
    d = RunConfig()
    shown = {p.name: p.help for p in train_cmd.params if p.help}
    for name in ("dataset", "noise", "lr", "momentum", "batch_size", "epochs", "init_scale", "val_fraction",
                 "activation", "optimizer", "dtype"):
        value = getattr(d, name)
        assert shown[name].endswith(f"[default: {value}]"), (name, shown[name])
    assert shown["hidden"].endswith("[default: 10]")
    assert len(TRAIN_OPTIONS) >= len(RULES) - 1  # every setting has a flag (data_dir, label_column, … included)
