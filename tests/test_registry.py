"""One registry per concept: every place that accepts a name reads it from ``mlplab.registry``.

Each test names the place that lags behind when a choice is added to the registry and not taken up there.
"""

from __future__ import annotations

import click
import numpy as np
import pytest

from mlplab import kernels, registry
from mlplab.cli import cli
from mlplab.errors import ConfigError, ModelFileError
from mlplab.modelfile import check_architecture
from mlplab.network import MLP
from mlplab.runner import RunConfig, build

TABLES = {
    "activation": registry.ACTIVATIONS,
    "output": registry.OUTPUTS,
    "loss": registry.LOSSES,
    "optimizer": registry.OPTIMIZERS,
    "schedule": registry.SCHEDULES,
    "init": registry.INITS,
}


def _commands(group: click.Group, prefix: str = "mlplab"):
    for name, cmd in group.commands.items():
        yield f"{prefix} {name}", cmd
        if isinstance(cmd, click.Group):
            yield from _commands(cmd, f"{prefix} {name}")


def test_every_cli_choice_is_the_registry():
    seen = set()
    for where, cmd in _commands(cli):
        for param in cmd.params:
            if param.name in TABLES:
                assert isinstance(param.type, click.Choice), f"{where} --{param.name} is not a choice"
                assert list(param.type.choices) == list(TABLES[param.name]), (
                    f"{where} --{param.name} offers {list(param.type.choices)}, the registry "
                    f"{list(TABLES[param.name])}"
                )
                seen.add(param.name)
    assert seen == set(TABLES), f"no command offers {sorted(set(TABLES) - seen)}"


def test_model_file_validation_accepts_every_registered_name_and_nothing_else():
    arch = MLP([2, 3, 2]).config()
    for key, table in (("activation", registry.ACTIVATIONS), ("output", registry.OUTPUTS),
                       ("loss", registry.LOSSES), ("init", registry.INITS)):
        for name in table:
            assert check_architecture("f", arch | {key: name}) is not None, f"modelfile refuses {key} {name}"
        for bad in ("gelu", ["tanh"], None):
            with pytest.raises(ModelFileError, match=key):
                check_architecture("f", arch | {key: bad})


def test_kernel_codes_are_the_registry_codes():
    compiled = {n: a.code for n, a in registry.ACTIVATIONS.items() if a.code is not None}
    not_compiled = {n for n, a in registry.ACTIVATIONS.items() if a.code is None}
    assert compiled == kernels.ACT_CODES, "kernels.ACT_CODES differs from the registry's activation codes"
    assert not_compiled == {"step"}, f"activations without a compiled kernel: {sorted(not_compiled)}"
    heads = {k: h.code for k, h in registry.HEADS.items() if h.code is not None}
    assert heads == kernels.HEAD_CODES, "kernels.HEAD_CODES differs from the registry's head codes"
    optimizers = [*registry.OPTIMIZERS.values(), *registry.SKLEARN_OPTIMIZERS.values()]
    assert {o.cls: o.code for o in optimizers if o.code is not None} == kernels.OPT_CODES, (
        "kernels.OPT_CODES differs from the registry's optimizer codes (both tables)")
    for table in (registry.ACTIVATIONS, registry.HEADS, {o.cls: o for o in optimizers}):
        codes = [c.code for c in table.values() if c.code is not None]
        assert len(codes) == len(set(codes)), f"codes repeat in {table}"


@pytest.mark.parametrize("activation", list(registry.ACTIVATIONS))
def test_every_activation_trains_in_the_numpy_engine_and_in_its_kernel(activation):
    """Every registered activation builds, trains, and takes the compiled path exactly when it has a code."""
    cfg = RunConfig(activation=activation, epochs=1, batch_size=4)
    net, trainer = build(cfg, 2, 2)
    assert kernels.supported(net, trainer.optimizer, 4) == (registry.ACTIVATIONS[activation].code is not None)
    X, y = np.random.default_rng(0).normal(size=(16, 2)), np.arange(16) % 2
    trainer.fit(X, y)
    assert np.isfinite(trainer.history[-1].train_loss)


def test_every_output_loss_pair_has_a_head_or_is_refused_by_the_probability_rule():
    for output, out in registry.OUTPUTS.items():
        for loss, lo in registry.LOSSES.items():
            if lo.needs_probabilities and not out.probabilities:
                with pytest.raises(ConfigError, match="needs a probability output"):
                    registry.head_for(output, loss)
            else:
                assert registry.head_for(output, loss) is registry.HEADS[(output, loss)]
    assert set(registry.HEADS) <= {(o, l) for o in registry.OUTPUTS for l in registry.LOSSES}


@pytest.mark.parametrize("kind", list(TABLES))
def test_unknown_names_are_one_clear_error(kind):
    with pytest.raises(ConfigError, match=f"unknown {kind} 'nope'; choose one of "):
        registry.choose(kind, TABLES[kind], "nope")


def test_every_optimizer_schedule_and_init_is_usable():
    net = MLP([2, 3, 2])
    for name, choice in registry.OPTIMIZERS.items():
        assert type(registry.make_optimizer(name, net.params, 0.1)) is choice.cls
        assert not choice.cls.decay_per_row  # the engine's λ
    for name, choice in registry.SKLEARN_OPTIMIZERS.items():
        assert name in registry.OPTIMIZERS  # scikit-learn's convention of an optimizer the CLI offers
        opt = choice.build(net.params, 0.1, 0.9, True, 0.5)
        assert type(opt) is choice.cls and opt.decay_per_row and opt.decay(10) == 0.05  # α per row
    for name in registry.SCHEDULES:
        assert 0 < registry.schedule_lr(name, 0.1, 3, 10) <= 0.1
    for init in registry.INITS:
        for act in registry.ACTIVATIONS:
            assert MLP([2, 3, 2], act, init=init).n_params == 17


def test_run_config_defaults_are_registered():
    d = RunConfig()
    for key, table in TABLES.items():
        assert getattr(d, key) in table, f"RunConfig.{key} default {getattr(d, key)!r} is not registered"


def test_two_classes_from_one_sigmoid_output():
    assert registry.n_classes("sigmoid", 1) == 2
    assert registry.n_classes("sigmoid", 3) == 3
    assert registry.n_classes("softmax", 2) == 2
    net = MLP([2, 3, 1], output="sigmoid", loss="cross_entropy")
    assert net.targets(np.array([0, 1, 1])).tolist() == [[0.0], [1.0], [1.0]]


def test_the_playground_offers_every_registered_choice():
    from mlplab.playground.settings import PAGE_OPTIMIZERS, choices

    page = choices()
    assert page["activation"] == list(registry.ACTIVATIONS), "the playground's activations lag the registry"
    assert page["init"] == list(registry.INITS), "the playground's inits lag the registry"
    assert {o for o, _, _ in PAGE_OPTIMIZERS.values()} == set(registry.OPTIMIZERS), "page optimizers lag"
    assert {tuple(h.split("+")) for h in page["head"]} == {k for k in registry.HEADS
                                                             if registry.OUTPUTS[k[0]].probabilities}

