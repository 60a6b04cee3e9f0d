"""Checkpoints: round trip, resume == uninterrupted, mismatch refused, atomic writes."""

from __future__ import annotations

import dataclasses
import json

import numpy as np
import pytest
import torch

import beamopt
from beamopt.score import (
    ChannelEstimator,
    ScoreConfig,
    ScoreModel,
    train_estimator,
    train_score_model,
)

TINY = ScoreConfig(
    width=16,
    n_blocks=1,
    d_model=16,
    n_heads=2,
    dim_feedforward=32,
    n_encoder_layers=1,
    n_decoder_layers=1,
    n_iterations=8,
    batch_size=8,
    checkpoint_every=3,
    device="cpu",
)


def crandn(rng, shape):
    return (rng.standard_normal(shape) + 1j * rng.standard_normal(shape)) / np.sqrt(2)


RNG = np.random.default_rng(0)
H = 3.0 * crandn(RNG, (40, 2, 4))
Y = crandn(RNG, (40, 3))


def cfg(**kw):
    return dataclasses.replace(TINY, **kw)


def state(model):
    return {k: v.clone() for k, v in model.network.state_dict().items()}


def assert_same_weights(a, b):
    sa, sb = state(a), state(b)
    assert sa.keys() == sb.keys()
    for k in sa:
        assert torch.equal(sa[k], sb[k]), k


def _x():
    g = torch.Generator().manual_seed(5)
    return torch.complex(torch.randn(3, 2, 4, generator=g), torch.randn(3, 2, 4, generator=g))


@pytest.mark.parametrize("network", ["mlp", "transformer"])
def test_save_load_round_trip(tmp_path, network):
    model = train_score_model(H, observations=Y, config=cfg(network=network), progress=False)
    path = model.save(tmp_path / "model.pt")
    loaded = ScoreModel.load(path)
    assert loaded.config == model.config
    assert loaded.channel_shape == (2, 4) and loaded.obs_shape == (3,)
    assert loaded.scale == model.scale and loaded.obs_scale == model.obs_scale
    assert_same_weights(loaded, model)
    x, y = _x(), torch.as_tensor(Y[:3])
    torch.testing.assert_close(loaded.predict_noise(x, 0.4, y), model.predict_noise(x, 0.4, y))
    assert not any(p.name.endswith(".tmp") for p in tmp_path.iterdir())


def test_checkpoint_holds_config_scaling_shapes_version(tmp_path):
    path = tmp_path / "ck.pt"
    model = train_score_model(
        H, observations=Y, config=TINY, validation=0, checkpoint=path, progress=False
    )
    data = torch.load(path, weights_only=True)
    assert data["version"] == beamopt.__version__
    assert data["config"] == dataclasses.asdict(TINY)
    assert data["channel_shape"] == [2, 4] and data["obs_shape"] == [3]
    assert data["scale"] == pytest.approx(np.sqrt(np.mean(np.abs(H) ** 2)))
    assert data["obs_scale"] == pytest.approx(np.sqrt(np.mean(np.abs(Y) ** 2)))
    assert data["training"]["iteration"] == TINY.n_iterations
    # a training checkpoint also loads as a model (the EMA weights)
    assert_same_weights(ScoreModel.load(path), model)


@pytest.mark.parametrize("network", ["mlp", "transformer"])
def test_raising_n_iterations_continues_a_finished_run(tmp_path, network):
    # with a constant rate and no held-out data, 4 then 6 more steps are 10 steps
    path = tmp_path / "ck.pt"
    flat = dict(network=network, lr_schedule="constant")
    args = dict(observations=Y, seed=2, validation=0, progress=False)
    full = train_score_model(H, config=cfg(**flat, n_iterations=10), **args)
    first = train_score_model(H, config=cfg(**flat, n_iterations=4), checkpoint=path, **args)
    # the interrupted run really stopped short: its weights still differ
    assert not all(torch.equal(v, state(full)[k]) for k, v in state(first).items())
    resumed = train_score_model(H, config=cfg(**flat, n_iterations=10), checkpoint=path, **args)
    assert_same_weights(resumed, full)
    assert torch.load(path, weights_only=True)["training"]["iteration"] == 10


def assert_same_history(a, b):
    da, db = a.to_dict(), b.to_dict()
    da.pop("elapsed_s"), db.pop("elapsed_s")
    assert json.dumps(da) == json.dumps(db)  # NaN-aware: the step-0 training loss is NaN


@pytest.mark.parametrize("base", ["white", "gaussian"])
@pytest.mark.parametrize("observations", [None, Y])
def test_resume_from_an_intermediate_checkpoint(tmp_path, monkeypatch, observations, base):
    # Crash after the checkpoint at iteration 6 (checkpoint_every=3), then resume: the same
    # weights and the same record (held-out losses every 2 steps, the kept weights) as an
    # uninterrupted run.
    from beamopt.score import training

    path = tmp_path / "ck.pt"
    c = cfg(n_iterations=8, eval_every=2, base=base)
    full = train_score_model(H, observations=observations, config=c, progress=False)
    assert full.history.iterations.tolist() == [0, 2, 4, 6, 8]
    real_save = training._checkpoint.save

    def save_then_crash(p, data):
        real_save(p, data)
        if data["training"]["iteration"] == 6:
            raise KeyboardInterrupt

    monkeypatch.setattr(training._checkpoint, "save", save_then_crash)
    args = dict(observations=observations, config=c, checkpoint=path, progress=False)
    with pytest.raises(KeyboardInterrupt):
        train_score_model(H, **args)
    monkeypatch.setattr(training._checkpoint, "save", real_save)
    assert torch.load(path, weights_only=True)["training"]["iteration"] == 6
    resumed = train_score_model(H, **args)
    assert_same_weights(resumed, full)
    assert_same_history(resumed.history, full.history)
    # the record travels with the checkpoint and with a saved model
    assert_same_history(ScoreModel.load(path).history, full.history)
    saved = ScoreModel.load(full.save(tmp_path / "m.pt"))
    assert_same_history(saved.history, full.history)


def test_finished_checkpoint_is_returned_without_training(tmp_path):
    path = tmp_path / "ck.pt"
    a = train_score_model(H, config=TINY, checkpoint=path, progress=False)
    stamp = path.stat().st_mtime_ns
    b = train_score_model(H, config=TINY, checkpoint=path, progress=False)
    assert_same_weights(a, b)
    assert path.stat().st_mtime_ns == stamp


@pytest.mark.parametrize(
    ("kwargs", "what"),
    [
        ({"config": cfg(width=32)}, "config.width"),
        ({"config": cfg(objective="ve_dsm")}, "config.objective"),
        ({"channels": H[:, :, :2]}, "channel_shape"),
        ({"observations": None}, "obs_shape"),
        ({"observations": Y[:, :2]}, "obs_shape"),
        ({"seed": 1}, "seed"),
    ],
)
def test_mismatched_checkpoint_is_refused(tmp_path, kwargs, what):
    path = tmp_path / "ck.pt"
    train_score_model(H, observations=Y, config=TINY, checkpoint=path, progress=False)
    args = {"channels": H, "observations": Y, "config": TINY, "seed": 0, **kwargs}
    channels = args.pop("channels")
    with pytest.raises(ValueError, match="does not match") as info:
        train_score_model(channels, **args, checkpoint=path, progress=False)
    assert what in str(info.value)


def test_saved_model_and_foreign_files_are_not_training_checkpoints(tmp_path):
    model = train_score_model(H, config=TINY, progress=False)
    saved = model.save(tmp_path / "model.pt")
    with pytest.raises(ValueError, match="no training state"):
        train_score_model(H, config=TINY, checkpoint=saved, progress=False)
    junk = tmp_path / "junk.pt"
    junk.write_bytes(b"not a checkpoint")
    with pytest.raises(ValueError, match="not a readable"):
        ScoreModel.load(junk)
    torch.save({"a": 1}, tmp_path / "other.pt")
    with pytest.raises(ValueError, match="not a beamopt"):
        ScoreModel.load(tmp_path / "other.pt")
    with pytest.raises(ValueError, match="does not exist"):
        ScoreModel.load(tmp_path / "missing.pt")


def test_score_and_estimator_checkpoints_are_not_interchangeable(tmp_path):
    est = train_estimator(H, Y, config=TINY, checkpoint=tmp_path / "est.pt", progress=False)
    with pytest.raises(ValueError, match="'estimator' model"):
        ScoreModel.load(tmp_path / "est.pt")
    with pytest.raises(ValueError, match="'estimator' model"):
        train_score_model(H, observations=Y, config=TINY, checkpoint=tmp_path / "est.pt")
    model = train_score_model(H, config=TINY, progress=False)
    with pytest.raises(ValueError, match="'score' model"):
        ChannelEstimator.load(model.save(tmp_path / "m.pt"))
    again = ChannelEstimator.load(est.save(tmp_path / "e2.pt"))
    np.testing.assert_array_equal(again.estimate(Y[:4]), est.estimate(Y[:4]))


def test_resumed_estimator_equals_uninterrupted(tmp_path, monkeypatch):
    from beamopt.score import training

    path = tmp_path / "est.pt"
    c = cfg(n_iterations=9, eval_every=2)
    full = train_estimator(H, Y, config=c, seed=1, progress=False)
    real_save = training._checkpoint.save

    def save_then_crash(p, data):
        real_save(p, data)
        if data["training"]["iteration"] == 6:
            raise KeyboardInterrupt

    monkeypatch.setattr(training._checkpoint, "save", save_then_crash)
    with pytest.raises(KeyboardInterrupt):
        train_estimator(H, Y, config=c, seed=1, checkpoint=path, progress=False)
    monkeypatch.setattr(training._checkpoint, "save", real_save)
    resumed = train_estimator(H, Y, config=c, seed=1, checkpoint=path, progress=False)
    assert_same_weights(resumed, full)
    assert_same_history(resumed.history, full.history)
