"""The shared training loop (beamopt._training): schedule, held-out record, kept weights."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from beamopt._training import LoopSettings, lr_factor, run

pytestmark = pytest.mark.torch


def test_learning_rate_warms_up_then_follows_the_cosine():
    s = LoopSettings(n_iterations=110, lr=1.0, warmup=10, lr_final=0.1)
    assert [lr_factor(k, s) for k in (0, 4, 9)] == pytest.approx([0.1, 0.5, 1.0])
    for k in (10, 35, 60, 109):
        frac = (k - 10) / 100
        assert lr_factor(k, s) == pytest.approx(0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * frac)))
    flat = LoopSettings(n_iterations=50, lr=1.0, warmup=5, lr_schedule="constant")
    assert lr_factor(40, flat) == 1.0


def quadratic():
    """Least squares w -> target on fixed data; the held-out loss is the exact risk."""
    net = torch.nn.Linear(1, 1, bias=False)
    torch.nn.init.zeros_(net.weight)

    def loss_fn(m, g):
        x = torch.randn(16, 1, generator=g)
        return ((m(x) - 2.0 * x) ** 2).mean()

    def risk(m):  # E(w x - 2 x)^2 = (w - 2)^2 for x ~ N(0, 1)
        return float((m.weight.detach()[0, 0] - 2.0) ** 2)

    return net, loss_fn, risk


def test_the_kept_weights_have_the_lowest_held_out_loss():
    net, loss_fn, risk = quadratic()
    visits = []

    def validate(m):  # a held-out loss that is lowest at step 20, then rises
        k = len(visits)
        visits.append(risk(m))
        return abs(k - 2) + 0.0

    s = LoopSettings(n_iterations=50, lr=0.1, eval_every=10, lr_schedule="constant")
    model, h = run(net, loss_fn, settings=s, generator=torch.Generator().manual_seed(0),
                   validate=validate)  # fmt: skip
    assert h.iterations.tolist() == [0, 10, 20, 30, 40, 50]
    assert h.best_iteration == 20 and not h.stopped_early
    # the returned weights are those evaluated at step 20, not the last ones
    assert risk(model) == pytest.approx(visits[2])
    assert visits[-1] != visits[2]
    assert np.isnan(h.train_loss[0]) and np.all(h.train_loss[1:] >= 0)


def test_patience_stops_early_and_no_validation_keeps_the_last_weights():
    net, loss_fn, risk = quadratic()
    s = LoopSettings(n_iterations=1000, lr=0.05, eval_every=10, patience=3)
    calls = []

    def validate(m):
        calls.append(1)
        return 1.0 if len(calls) > 2 else 2.0 - len(calls)  # best at step 10, then flat

    _, h = run(net, loss_fn, settings=s, generator=torch.Generator().manual_seed(0),
               validate=validate)  # fmt: skip
    assert h.stopped_early and h.n_iterations == 40 and h.best_iteration == 10
    net, loss_fn, risk = quadratic()
    model, h = run(net, loss_fn, settings=LoopSettings(n_iterations=300, lr=0.05),
                   generator=torch.Generator().manual_seed(0))  # fmt: skip
    assert not h.has_validation and h.best_iteration == 300
    assert risk(model) < 1e-3  # Adam reached the least-squares solution w = 2


def test_a_non_finite_loss_names_the_iteration_and_the_rate():
    net = torch.nn.Linear(1, 1)
    s = LoopSettings(n_iterations=5, lr=0.1)
    with pytest.raises(FloatingPointError, match="iteration 0; lower the learning rate"):
        run(net, lambda m, g: m.weight.sum() * float("nan"), settings=s,
            generator=torch.Generator())  # fmt: skip


@pytest.mark.parametrize(
    ("kw", "match"),
    [
        ({"lr_schedule": "step"}, "lr_schedule"),
        ({"patience": 0}, "patience"),
        ({"eval_every": 0}, "eval_every"),
        ({"lr_final": 2.0}, "lr_final"),
        ({"lr": -1.0}, "lr"),
    ],
)
def test_bad_settings_name_the_field(kw, match):
    with pytest.raises(ValueError, match=match):
        LoopSettings(**{"n_iterations": 10, "lr": 1e-3, **kw})


def _rows(mean, k, n=400):
    """Held-out rows with sample mean exactly `mean` and unit spread, fresh noise per call."""
    e = np.random.default_rng(k).standard_normal(n)
    return mean + (e - e.mean()) / e.std()


@pytest.mark.parametrize(("z", "best"), [(0.0, 30), (2.0, 20)])
def test_improvement_z_demands_a_paired_significant_drop(z, best):
    # per-row losses whose means fall by 0.02 (0.2 paired SE), 0.5 (7 SE), then 0.01 more
    means = [0.0, -0.02, -0.5, -0.51, 0.0, 0.0]
    net, loss_fn, _ = quadratic()
    calls = []

    def validate(m):
        calls.append(1)
        return _rows(means[len(calls) - 1], len(calls))

    s = LoopSettings(n_iterations=50, lr=0.1, eval_every=10, improvement_z=z)
    _, h = run(net, loss_fn, settings=s, generator=torch.Generator().manual_seed(0),
               validate=validate)  # fmt: skip
    assert h.best_iteration == best
    assert h.validation_loss[:4] == pytest.approx(means[:4])


def test_improvement_z_survives_a_resume():
    # after -0.5 at step 10, none of the later drops (0.01 each, 0.14 paired SE) counts;
    # a resume that lost the kept rows would accept step 30 (any lower mean, no rows to pair)
    means = [0.0, -0.5, -0.52, -0.53, -0.54, -0.55]

    def make(calls):
        def validate(m):
            calls.append(1)
            return _rows(means[len(calls) - 1], len(calls))

        return validate

    s = LoopSettings(n_iterations=50, lr=0.1, eval_every=10, improvement_z=2.0,
                     checkpoint_every=20)  # fmt: skip
    states = []
    net, loss_fn, _ = quadratic()
    _, whole = run(net, loss_fn, settings=s, generator=torch.Generator().manual_seed(0),
                   validate=make([]), save=lambda st, kept, h: states.append(st))  # fmt: skip
    net, loss_fn, _ = quadratic()
    calls = [1] * 3  # evaluations 0, 10 and 20 happened before the checkpoint at step 20
    _, resumed = run(net, loss_fn, settings=s, generator=torch.Generator().manual_seed(0),
                     validate=make(calls), resume=states[0])  # fmt: skip
    assert whole.best_iteration == resumed.best_iteration == 10
    assert resumed.validation_loss.tolist() == pytest.approx(whole.validation_loss.tolist())


def test_bad_improvement_z_is_refused():
    for bad in (-1.0, float("inf"), "2", True):
        with pytest.raises(ValueError, match="improvement_z"):
            LoopSettings(n_iterations=10, lr=1e-3, improvement_z=bad)


def test_score_config_checks_improvement_z_and_hands_it_to_the_loop():
    from beamopt.score.training import ScoreConfig, loop_settings

    with pytest.raises(ValueError, match="improvement_z"):
        ScoreConfig(improvement_z=-0.5)
    assert loop_settings(ScoreConfig(improvement_z=3.0)).improvement_z == 3.0
