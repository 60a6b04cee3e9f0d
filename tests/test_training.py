"""TrainingHistory (the training record) and the held-out split helpers."""

from __future__ import annotations

import json

import matplotlib
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from beamopt.training import TrainingHistory, resolve_validation, split_validation

matplotlib.use("Agg")


def record(val, *, best=None, bands=False, stopped=False):
    its = np.arange(len(val)) * 10
    val = np.asarray(val, dtype=float)
    kw = {}
    if bands:
        kw = dict(band_loss=np.stack([val, 2 * val], axis=1), band_edges=[0.01, 1.0, 100.0])
    return TrainingHistory(
        iterations=its,
        train_loss=np.r_[np.nan, val[1:] * 1.1],
        validation_loss=val,
        learning_rate=np.full(len(val), 1e-3),
        best_iteration=int(its[np.argmin(val)] if best is None else best),
        elapsed_s=1.5,
        stopped_early=stopped,
        n_train=90,
        n_validation=10,
        **kw,
    )


def test_headline_numbers_and_short_repr():
    h = record([1.0, 0.5, 0.4, 0.45])
    assert h.n_iterations == 30 and h.best_iteration == 20
    assert h.best_validation_loss == 0.4 and h.initial_validation_loss == 1.0
    text = repr(h)
    assert "validation_loss=0.4 at 20" in text and "untrained 1" in text and len(text) < 300


def test_best_loss_is_the_kept_iterations_when_a_paired_rule_kept_an_earlier_one():
    h = record([1.0, 0.5, 0.4, 0.45], best=10)
    assert h.best_validation_loss == 0.5
    assert "validation_loss=0.5 at 10" in repr(h)


def test_kept_start_under_the_paired_rule_is_reported_as_the_rules_decision():
    import warnings

    from beamopt.score.training import warn_if_still_improving
    from beamopt.training import TrainingWarning

    h = record([1.0, 0.9, 0.95, 0.97], best=0)
    with pytest.warns(TrainingWarning, match="significant at improvement_z = 3 standard") as w:
        warn_if_still_improving(h, "ism", 30, improvement_z=3.0)
    assert "0.9 against the untrained model's 1" in str(w[0].message)
    with pytest.warns(TrainingWarning, match="never fell below the untrained"):
        warn_if_still_improving(h, "ism", 30)
    # a start the mean never beat is the old message whatever the rule
    flat = record([1.0, 1.1, 1.2], best=0)
    with pytest.warns(TrainingWarning, match="never fell below the untrained"):
        warn_if_still_improving(flat, "ism", 20, improvement_z=3.0)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        warn_if_still_improving(record([1.0, 0.5, 0.4, 0.4]), "ism", 30, improvement_z=3.0)


def test_round_trip_through_json_keeps_every_field():
    h = record([1.0, 0.5, 0.4], bands=True, stopped=True)
    again = TrainingHistory.from_dict(json.loads(json.dumps(h.to_dict())))
    assert json.dumps(again.to_dict()) == json.dumps(h.to_dict())
    assert again.band_loss.shape == (3, 2) and again.stopped_early


def test_arrays_are_read_only_and_shapes_checked():
    h = record([1.0, 0.5])
    with pytest.raises(ValueError):
        h.validation_loss[0] = 3.0
    with pytest.raises(ValueError, match="train_loss must have shape"):
        TrainingHistory([0, 1], [1.0], [1.0, 2.0], [0.1, 0.1], 1, 0.0)
    with pytest.raises(ValueError, match="band_loss"):
        TrainingHistory([0], [1.0], [1.0], [0.1], 0, 0.0, band_loss=[[1.0]], band_edges=[1.0])


def test_still_improving_flags_a_loss_falling_at_the_end_only():
    falling = record(np.linspace(1.0, 0.2, 20))
    assert falling.still_improving()
    flat = record(np.r_[np.linspace(1.0, 0.2, 10), np.full(10, 0.2) + 1e-6 * np.arange(10)])
    assert not flat.still_improving()
    noisy_plateau = record(np.r_[np.linspace(1.0, 0.3, 10), 0.3 + 0.001 * np.sin(np.arange(10))])
    assert not noisy_plateau.still_improving()
    assert not record(np.linspace(1.0, 0.2, 20), stopped=True).still_improving()
    no_val = TrainingHistory([0, 10, 20, 30], [np.nan, 1, 0.5, 0.2], [np.nan] * 4,
                             [0.1] * 4, 30, 0.0)  # fmt: skip
    assert not no_val.has_validation and not no_val.still_improving()
    assert "train_loss=0.2" in repr(no_val)


def test_plot_draws_training_held_out_and_bands():
    ax = record([1.0, 0.5, 0.4], bands=True).plot()
    labels = [t.get_text() for t in ax.get_legend().get_texts()]
    assert labels[:3] == ["training", "held-out", "kept weights"] and len(labels) == 5
    assert ax.get_yscale() == "log"


@given(n=st.integers(2, 500), share=st.floats(0.0, 0.9), seed=st.integers(0, 2**31))
def test_split_partitions_the_rows_reproducibly(n, share, seed):
    try:
        train, held = split_validation(n, share, seed)
    except ValueError as exc:
        assert "training rows" in str(exc)
        return
    assert np.array_equal(np.sort(np.r_[train, held]), np.arange(n))
    assert held.size == (0 if share == 0 else max(1, round(share * n)))
    again = split_validation(n, share, seed)
    assert np.array_equal(again[1], held)


@pytest.mark.parametrize(
    ("validation", "match"),
    [(1.0, r"\[0, 1\)"), (-0.1, r"\[0, 1\)"), ("a", "held-out share"), (True, "held-out")],
)
def test_bad_shares_name_the_parameter(validation, match):
    with pytest.raises(ValueError, match=match):
        split_validation(10, validation, 0)


def test_resolve_validation_splits_pairs_and_checks_explicit_arrays():
    h = np.arange(20.0).reshape(10, 2)
    y = h[:, :1] * 10
    (ht, yt), (hv, yv) = resolve_validation((h, y), 0.2, 3, ("channels", "observations"))
    assert len(hv) == 2 and np.array_equal(yv[:, 0], hv[:, 0] * 10)
    assert np.array_equal(yt[:, 0], ht[:, 0] * 10)
    train, held = resolve_validation((h, None), None, 0, ("channels", "observations"))
    assert held is None and train[0] is h
    train, held = resolve_validation((h, y), (h[:3], y[:3]), 0, ("channels", "observations"))
    assert train[0] is h and held[0].shape == (3, 2)
    with pytest.raises(ValueError, match="held-out observations must have shape"):
        resolve_validation((h, y), (h[:3], h[:3]), 0, ("channels", "observations"))
    with pytest.raises(ValueError, match="2 array"):
        resolve_validation((h, None), (h[:3], y[:3]), 0, ("channels", "observations"))
    with pytest.raises(ValueError, match="same length"):
        resolve_validation((h, y), (h[:3], y[:2]), 0, ("channels", "observations"))
    with pytest.raises(ValueError, match="NaN"):
        resolve_validation((h, None), np.full((2, 2), np.nan), 0, ("channels", "observations"))
