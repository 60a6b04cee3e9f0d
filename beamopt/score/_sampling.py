"""Plumbing shared by the diffusion samplers: generators, devices, noise, pilot batches."""

from __future__ import annotations

import math

import numpy as np
import torch

from .._validation import check_int
from ..posterior.sampler import pilot_batch
from .schedule import ddpm_abar

__all__ = [
    "N_TRAIN_STEPS",
    "abar_grid",
    "torch_generator",
    "complex_normal",
    "resolve_device",
    "predict_noise",
    "pilot_rows",
    "chunks",
]


#: Length of the training schedule whose subsequences the samplers visit.
N_TRAIN_STEPS = 1000


def abar_grid(n_steps: int) -> np.ndarray:
    r"""The $\bar\alpha$ values a sampler with `n_steps` steps visits, then 1.

    An evenly spaced subsequence (largest noise first) of the 1000-step cosine schedule
    ([`ddpm_abar`][beamopt.score.schedule.ddpm_abar]); more steps than that use the
    `n_steps`-step schedule itself.

    Returns
    -------
    ndarray, shape (n_steps + 1,)
        Increasing, ending with 1.0 (the clean end).
    """
    n_steps = check_int(n_steps, "n_steps")
    T = max(n_steps, N_TRAIN_STEPS)
    full = ddpm_abar(T)
    idx = np.round(np.linspace(T - 1, 0, n_steps)).astype(int)
    return np.append(full[idx], 1.0)


def torch_generator(seed) -> torch.Generator:
    """A CPU `torch.Generator` from None, an int, a numpy Generator or a torch Generator."""
    if isinstance(seed, torch.Generator):
        return seed
    if isinstance(seed, np.random.Generator):
        seed = int(seed.integers(2**63 - 1))
    gen = torch.Generator()
    if seed is None:
        gen.seed()
    else:
        gen.manual_seed(check_int(seed, "seed", minimum=0))
    return gen


def complex_normal(shape, gen: torch.Generator, device) -> torch.Tensor:
    r"""Draws of $\mathcal{CN}(0, 1)$, complex128, drawn on the CPU generator then moved.

    The normals are drawn in single precision (five times faster than double on a CPU, the
    largest cost of a sampling step after the network) and widened: their 24-bit
    resolution is far below any statistic a sampler's draws are used for.
    """
    z = torch.randn((*shape, 2), generator=gen, dtype=torch.float32)
    z = z.to(torch.float64) * (1.0 / math.sqrt(2.0))
    return torch.view_as_complex(z).to(device)


def resolve_device(model, device) -> torch.device:
    """The sampling device: `device`, else the model's `device` attribute, else the CPU."""
    if device is None:
        device = getattr(model, "device", "cpu")
    if device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        return torch.device(device)
    except (RuntimeError, TypeError) as exc:
        msg = f"device must be None, 'auto', 'cpu' or 'cuda[:N]'; got {device!r}"
        raise ValueError(msg) from exc


def predict_noise(model, x, sigma, y=None) -> torch.Tensor:
    """The model's noise prediction as complex128 on `x`'s device."""
    eps = model.predict_noise(x, sigma, y)
    return eps.to(dtype=torch.complex128, device=x.device)


def pilot_rows(y, obs_shape, n_samples: int) -> tuple[np.ndarray, bool]:
    """Received pilots repeated per draw: `(rows, batched)`, rows `(B * n_samples, *obs_shape)`.

    Row `b * n_samples + j` conditions draw `j` of pilot vector `b`, so the draws come back
    as `(B, n_samples, ...)` by a reshape.
    """
    Y, batched = pilot_batch(y, obs_shape)
    return np.repeat(Y, n_samples, axis=0), batched


def chunks(n: int, size: int):
    """`(start, stop)` pairs that cover `range(n)` in pieces of at most `size`."""
    for start in range(0, n, size):
        yield start, min(start + size, n)
