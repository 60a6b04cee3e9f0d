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
