"""Checkpoints of learned models: one torch file, written atomically, refused on mismatch.

A checkpoint holds everything needed to rebuild the model (config, shapes, data scaling,
the kept EMA weights, package version, the training record) and, for a training checkpoint,
everything needed to resume bit for bit (raw and EMA weights, optimizer state, iteration,
seed, generator state, the held-out record and the best weights so far).
"""

from __future__ import annotations

import io
from pathlib import Path

import torch

from .._io import write_atomic

__all__ = ["payload", "save", "load", "save_model", "load_model", "check_compatible", "FORMAT"]

FORMAT = "beamopt.score.checkpoint/2"
#: formats whose models still load (format 1 has no training record and cannot resume)
READABLE = frozenset({"beamopt.score.checkpoint/1", FORMAT})

# config fields that may change between a run and its resumption
RESUMABLE_FIELDS = frozenset(
    {"n_iterations", "checkpoint_every", "device", "patience", "variance_rank"}
)
#: config fields added after format /2 was written, with the value older checkpoints meant
LATER_FIELDS = {"improvement_z": 0.0, "base": "white"}


def payload(
    *,
    kind,
    config,
    channel_shape,
    obs_shape,
    scale,
    obs_scale,
    weights,
    training=None,
    history=None,
    **extra,
) -> dict:
    """The checkpoint dict; `extra` holds model-specific fields (e.g. the metrics family's
    normalisation), stored beside the common ones; `history` is a `TrainingHistory` dict."""
    from .. import __version__

    return {
        **extra,
        "format": FORMAT,
        "kind": kind,
        "version": __version__,
        "config": dict(config),
        "channel_shape": list(channel_shape),
        "obs_shape": None if obs_shape is None else list(obs_shape),
        "scale": float(scale),
        "obs_scale": None if obs_scale is None else float(obs_scale),
        "weights": {k: v.detach().cpu() for k, v in weights.items()},
        "training": training,
        "history": history,
    }


def save(path, data: dict) -> Path:
    buf = io.BytesIO()
    torch.save(data, buf)
    return write_atomic(path, buf.getvalue())


def save_model(path, kind: str, model) -> Path:
    """Write a trained model (`ScoreModel` or `ChannelEstimator`: its EMA weights, config,
    scaling and shapes) as a checkpoint of `kind`."""
    from dataclasses import asdict

    return save(
        path,
        payload(
            kind=kind,
            config=asdict(model.config),
            channel_shape=model.channel_shape,
            obs_shape=model.obs_shape,
            scale=model.scale,
            obs_scale=model.obs_scale,
            weights=model.network.state_dict(),
            history=history_dict(model),
            **_variance_dict(model),
        ),
    )


def _variance_dict(model) -> dict:
    """`model.posterior_variance` (score models) as a checkpoint field, or nothing."""
    curve = getattr(model, "posterior_variance", None)
    return {} if curve is None else {"posterior_variance": curve.to_dict()}


def history_dict(model):
    """`model.history` as a plain dict (None when the model has no training record)."""
    history = getattr(model, "history", None)
    return None if history is None else history.to_dict()


def history_of(data: dict):
    """The `TrainingHistory` stored in a checkpoint dict, or None."""
    from ..training import TrainingHistory

    record = data.get("history")
    return None if record is None else TrainingHistory.from_dict(record)


def load_model(cls, path, *, kind: str, device="auto", **network_options):
    """Rebuild a `cls` model from a checkpoint of `kind` (a saved model or a training
    checkpoint) on `device`; `network_options` go to `build_network`."""
    from ._torch import resolve_device
    from .networks import build_network
    from .training import ScoreConfig

    ck = load(path, kind=kind)
    config = ScoreConfig(**ck["config"])
    net = build_network(config, ck["channel_shape"], ck["obs_shape"], **network_options)
    net.load_state_dict(ck["weights"])
    model = cls(
        net,
        channel_shape=ck["channel_shape"],
        obs_shape=ck["obs_shape"],
        scale=ck["scale"],
        obs_scale=ck["obs_scale"],
        config=config,
        history=history_of(ck),
    )
    if ck.get("posterior_variance") is not None:
        from .variance import PosteriorVariance

        model.posterior_variance = PosteriorVariance.from_dict(ck["posterior_variance"])
    return model.to(resolve_device(device))


def load(path, *, kind: str) -> dict:
    """Read and sanity-check a checkpoint of the given kind ("score" or "estimator")."""
    path = Path(path)
    if not path.is_file():
        raise ValueError(f"checkpoint {str(path)!r} does not exist")
    try:
        data = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:
        raise ValueError(
            f"checkpoint {str(path)!r} is not a readable beamopt checkpoint: {exc}"
        ) from exc
    if not isinstance(data, dict) or data.get("format") not in READABLE:
        raise ValueError(f"checkpoint {str(path)!r} is not a {FORMAT} file")
    if data["kind"] != kind:
        raise ValueError(
            f"checkpoint {str(path)!r} holds a {data['kind']!r} model, not a {kind!r} model"
        )
    data["channel_shape"] = tuple(data["channel_shape"])
    if data["obs_shape"] is not None:
        data["obs_shape"] = tuple(data["obs_shape"])
    return data


def check_compatible(
    data: dict, path, *, config: dict, channel_shape, obs_shape, seed: int
) -> None:
    """Refuse to resume from a checkpoint written for another config, data shape or seed."""
    problems = []
    old = {k: v for k, v in {**LATER_FIELDS, **data["config"]}.items() if k not in RESUMABLE_FIELDS}
    new = {k: v for k, v in config.items() if k not in RESUMABLE_FIELDS}
    for key in sorted(set(old) | set(new)):
        if old.get(key) != new.get(key):
            problems.append(
                f"config.{key}: checkpoint {old.get(key)!r}, requested {new.get(key)!r}"
            )
    if tuple(data["channel_shape"]) != tuple(channel_shape):
        problems.append(
            f"channel_shape: checkpoint {tuple(data['channel_shape'])}, data {tuple(channel_shape)}"
        )
    want_obs = None if obs_shape is None else tuple(obs_shape)
    if data["obs_shape"] != want_obs:
        problems.append(f"obs_shape: checkpoint {data['obs_shape']}, data {want_obs}")
    training = data.get("training")
    if training is None:
        problems.append("it holds no training state (a saved model, not a training checkpoint)")
    elif "loop" not in training:
        problems.append("it was written by an older beamopt (no training record to resume)")
    elif training["seed"] != seed:
        problems.append(f"seed: checkpoint {training['seed']}, requested {seed}")
    if problems:
        raise ValueError(
            f"checkpoint {str(path)!r} does not match this training run; delete it or pass "
            "another checkpoint path. Differences: " + "; ".join(problems)
        )
