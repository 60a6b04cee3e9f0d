r"""Seeded, batched, cached channel data sets: histories, targets and SRS observations.

Sample $i$ holds the history $H_{\mathrm{hist}}^{(i)}$ at the SRS instants, the target
$H^{(i)} = H(t_\star)$ and the observation history (eq. (22)-(23) of *A Perception vs.
Distortion Perspective on Score-Based Generative Channel Estimation*)

$$
y^{(i)} = A\,\operatorname{vec}(H_{\mathrm{hist}}^{(i)}) + n^{(i)}, \qquad
n^{(i)} \sim \mathcal{CN}(0, \sigma^2 I),
$$

reshaped to one token per sounded (instant, subcarrier) slot. Batch $b$ is drawn with the
seed `[seed, b]` (sionna for the channels, numpy for the noise), so a set is reproducible and
independent of how it is cached.
"""

from __future__ import annotations

import io
import json
import sys
import threading
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .._io import write_atomic
from .._parallel import check_executor, run_tasks
from .._repr import summary_repr
from .._validation import check_int
from .config import ChannelConfig
from .generate import generate_channels

__all__ = ["ChannelDataset", "build_dataset", "srs_baseline"]

_FORMAT = 1


@dataclass(frozen=True, eq=False)
class ChannelDataset:
    r"""A channel data set.

    Attributes
    ----------
    config : ChannelConfig
    seed, batch_size : int
        As given to [`build_dataset`][beamopt.channels.dataset.build_dataset].
    history : ndarray, complex64, shape (n, n_srs, n_subcarriers, n_rx, n_tx)
    target : ndarray, complex64, shape (n, n_subcarriers, n_rx, n_tx)
    observations : ndarray, complex64, shape (n, n_pilot_slots, n_rx * n_tx)
    """

    config: ChannelConfig
    seed: int
    batch_size: int
    history: np.ndarray
    target: np.ndarray
    observations: np.ndarray

    __repr__ = summary_repr

    def __len__(self) -> int:
        return self.target.shape[0]

    def meta(self) -> dict:
        """What generated the data: format, config, size and seed (stored beside the arrays)."""
        return {
            "format": _FORMAT,
            "config": self.config.to_dict(),
            "n_samples": len(self),
            "seed": self.seed,
            "batch_size": self.batch_size,
        }

    def save(self, path) -> Path:
        """Write an `.npz` (arrays + the generating config as JSON) atomically."""
        buf = io.BytesIO()
        np.savez(
            buf,
            history=self.history,
            target=self.target,
            observations=self.observations,
            meta=np.array(json.dumps(self.meta(), sort_keys=True)),
        )
        return write_atomic(path, buf.getvalue())

    @classmethod
    def load(
        cls, path, *, config: ChannelConfig, n_samples: int, seed: int, batch_size: int = 256
    ) -> ChannelDataset:
        """Read a cache written by [`save`][beamopt.channels.dataset.ChannelDataset.save].

        Raises
        ------
        ValueError
            If the file was generated with another config, size, seed or batch size (or format).
        """
        with np.load(path, allow_pickle=False) as data:
            meta = json.loads(str(data["meta"]))
            want = {
                "format": _FORMAT,
                "config": config.to_dict(),
                "n_samples": n_samples,
                "seed": seed,
                "batch_size": batch_size,
            }
            if meta != want:
                diff = sorted(k for k in set(meta) | set(want) if meta.get(k) != want.get(k))
                if "config" in diff:
                    old, new = meta.get("config", {}), want["config"]
                    fields = sorted(k for k in set(old) | set(new) if old.get(k) != new.get(k))
                    diff = [d for d in diff if d != "config"] + [f"config.{f}" for f in fields]
                raise ValueError(
                    f"cache {path} was generated with another configuration (differs in "
                    f"{', '.join(diff)}); delete it or pass another cache path"
                )
            return cls(
                config, seed, batch_size, data["history"], data["target"], data["observations"]
            )


def _observe(config: ChannelConfig, history: np.ndarray, rng) -> np.ndarray:
    mask = config.srs_mask()
    clean = history[:, mask]  # (B, n_slots, n_rx, n_tx), ordered like A vec(H)
    clean = clean.reshape(clean.shape[0], *config.obs_shape)
    noise = rng.standard_normal(clean.shape) + 1j * rng.standard_normal(clean.shape)
    return (clean + np.sqrt(config.noise_var / 2.0) * noise).astype(np.complex64)


#: sionna draws from a process-global seed: batches on threads of one process take turns
_SIONNA_LOCK = threading.Lock()


def _batch(config: ChannelConfig, n: int, seed: int, b: int):
    """History, target and observations of batch `b` (module level for process pools)."""
    channel_seed, noise_seed = np.random.SeedSequence([seed, b]).spawn(2)
    with _SIONNA_LOCK:
        h, t = generate_channels(config, n, seed=int(channel_seed.generate_state(1, np.uint32)[0]))
    return h, t, _observe(config, h, np.random.default_rng(noise_seed))


def build_dataset(
    config: ChannelConfig,
    n_samples: int,
    *,
    seed: int = 0,
    batch_size: int = 256,
    cache=None,
    executor=None,
    progress: bool = False,
) -> ChannelDataset:
    r"""Generate (or load from `cache`) a seeded channel data set.

    Parameters
    ----------
    config : ChannelConfig
    n_samples : int
        Samples, >= 1.
    seed : int
        >= 0; batch $b$ uses the seed sequence `[seed, b]`, so equal seeds give equal sets.
    batch_size : int
        Samples per sionna call, >= 1. Batch $b$ is seeded by `[seed, b]`, so the split is
        part of the drawing: it is stored with the cache and checked like the seed.
    cache : path, optional
        `.npz` file: loaded if it exists (and generated with this config, size and seed,
        else ValueError), else written atomically after generation.
    executor : concurrent.futures.Executor, optional
        Generates the batches in parallel: a process pool or dask.distributed's
        `Client.get_executor()` (sionna's generator is seeded globally, so batches on
        threads of one process take turns); None generates them here. Batch $b$ is seeded
        by `[seed, b]` wherever it runs, so the set is the same for every executor.
    progress : bool
        Progress bar over the batches (on stderr; off by default).

    Returns
    -------
    ChannelDataset
    """
    if not isinstance(config, ChannelConfig):
        raise ValueError(f"config must be a ChannelConfig; got {type(config).__name__}")
    n_samples = check_int(n_samples, "n_samples")
    seed = check_int(seed, "seed", minimum=0)
    batch_size = check_int(batch_size, "batch_size")
    if cache is not None and Path(cache).exists():
        return ChannelDataset.load(
            cache, config=config, n_samples=n_samples, seed=seed, batch_size=batch_size
        )
    check_executor(executor)
    tasks = [(config, min(batch_size, n_samples - start), seed, b)
             for b, start in enumerate(range(0, n_samples, batch_size))]  # fmt: skip
    show = bool(progress) and sys.stderr is not None
    hist, targ, obs = zip(*run_tasks(_batch, tasks, executor=executor, progress=show,
                                     desc="channels"))  # fmt: skip
    data = ChannelDataset(
        config, seed, batch_size, np.concatenate(hist), np.concatenate(targ), np.concatenate(obs)
    )
    if cache is not None:
        data.save(cache)
    return data


def srs_baseline(config: ChannelConfig, observations) -> np.ndarray:
    r"""The SRS baseline: the wideband estimate collected from the observations unprocessed.

    Every subcarrier takes the most recent noisy SRS observation of it (the latest instant that
    sounded it); a subcarrier never sounded takes the nearest sounded one of the latest
    instant. No ageing compensation, no denoising.

    Parameters
    ----------
    config : ChannelConfig
    observations : array_like, complex, shape (n, n_pilot_slots, n_rx * n_tx)

    Returns
    -------
    ndarray, complex128, shape (n, n_subcarriers, n_rx, n_tx)
    """
    y = np.asarray(observations)
    if y.ndim != 3 or y.shape[1:] != config.obs_shape:
        raise ValueError(
            f"observations must have shape (n, {config.obs_shape[0]}, {config.obs_shape[1]}); "
            f"got {y.shape}"
        )
    mask = config.srs_mask()
    slot_time, slot_sc = np.nonzero(mask)  # slots in the order of y
    # latest slot per subcarrier (slots are ordered by time, so the last write wins)
    latest = np.full(config.n_subcarriers, -1)
    latest[slot_sc] = np.arange(slot_time.size)
    sounded = np.flatnonzero(latest >= 0)
    for n in np.flatnonzero(latest < 0):
        latest[n] = latest[sounded[np.argmin(np.abs(sounded - n))]]
    out = y[:, latest].reshape(y.shape[0], config.n_subcarriers, config.n_rx, config.n_tx)
    return out.astype(np.complex128)
