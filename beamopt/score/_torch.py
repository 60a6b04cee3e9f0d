"""torch plumbing shared by the learned models: devices, seeds, complex <-> real features.

Only the modules that learn or sample import this, so `import beamopt` never loads torch.
"""

from __future__ import annotations

import math
from contextlib import contextmanager

import numpy as np
import torch

from .._validation import as_array, check_choice

__all__ = [
    "resolve_device",
    "seeded",
    "randn_complex",
    "complex_to_features",
    "features_to_complex",
    "as_complex_data",
    "rms",
]

_SQRT2 = math.sqrt(2.0)


def resolve_device(device) -> torch.device:
    """`"auto"` picks CUDA when available, else CPU; any torch device string is accepted."""
    if isinstance(device, torch.device):
        return device
    if not isinstance(device, str):
        raise ValueError(f"device must be 'auto', 'cpu', 'cuda' or 'cuda:N'; got {device!r}")
    if device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        dev = torch.device(device)
    except RuntimeError as exc:
        raise ValueError(
            f"device must be 'auto', 'cpu', 'cuda' or 'cuda:N'; got {device!r}"
        ) from exc
    check_choice(dev.type, "device", ("cpu", "cuda"))
    if dev.type == "cuda" and not torch.cuda.is_available():
        raise ValueError(f"device {device!r} requested but CUDA is not available")
    return dev


@contextmanager
def seeded(seed: int):
    """Run a block under a fixed global torch seed without disturbing the caller's RNG.

    Parameter initialisation in `torch.nn` draws from the global generator; forking it
    makes network construction reproducible and side-effect free.
    """
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        yield


def randn_complex(shape, generator: torch.Generator, device=None) -> torch.Tensor:
    r"""i.i.d. $\mathcal{CN}(0, 1)$ entries (real and imaginary parts $\mathcal N(0, 1/2)$).

    Drawn on the CPU generator and moved, so a seed gives the same numbers on every device.
    """
    z = torch.randn((*shape, 2), generator=generator, dtype=torch.float32) / _SQRT2
    z = torch.view_as_complex(z)
    return z if device is None else z.to(device)


def complex_to_features(x: torch.Tensor, n_tokens: int) -> torch.Tensor:
    r"""(B, *shape) complex -> (B, n_tokens, 2 P) real: each token stacks $\sqrt2$ Re, $\sqrt2$ Im.

    The $\sqrt 2$ gives unit-variance real features for unit-power complex entries.
    """
    flat = x.reshape(x.shape[0], n_tokens, -1)
    return torch.cat([flat.real, flat.imag], dim=-1) * _SQRT2


def features_to_complex(f: torch.Tensor, shape: tuple[int, ...]) -> torch.Tensor:
    """Inverse of [`complex_to_features`][beamopt.score._torch.complex_to_features]."""
    half = f.shape[-1] // 2
    z = torch.complex(f[..., :half], f[..., half:]) / _SQRT2
    return z.reshape(f.shape[0], *shape)


def as_complex_data(value, name: str, *, shape=None, n=None) -> np.ndarray:
    """Validate a batch of complex training data: finite, at least 2-D, trailing `shape`.

    Returns complex128 `(N, *shape)`; raises ValueError naming `name` otherwise.
    """
    arr = as_array(value, name, dtype=complex)
    if arr.ndim < 2:
        raise ValueError(
            f"{name} must have shape (n_samples, *entry_shape) with at least 2 axes; "
            f"got {arr.shape}"
        )
    if arr.shape[0] < 1 or arr.size == 0:
        raise ValueError(f"{name} must hold at least one non-empty sample; got {arr.shape}")
    if shape is not None and tuple(arr.shape[1:]) != tuple(shape):
        raise ValueError(
            f"{name} must have shape (n_samples, {', '.join(map(str, shape))}); got {arr.shape}"
        )
    if n is not None and arr.shape[0] != n:
        raise ValueError(f"{name} must hold {n} samples (one per channel); got {arr.shape[0]}")
    return arr


def rms(arr: np.ndarray, name: str) -> float:
    """Root mean square per complex entry; zero data cannot be normalised."""
    out = float(np.sqrt(np.mean(np.abs(arr) ** 2)))
    if not out > 0:
        raise ValueError(f"{name} must not be identically zero")
    return out
