"""torch plumbing shared by the two learned ISAC models (model-driven and autoencoder).

Only `learning` and `autoencoder` import this, so `import beamopt` never loads torch.
Every draw comes from the caller's seeded `torch.Generator`, in float64.
"""

from __future__ import annotations

import numpy as np
import torch

from .sectors import check_sector


def device(name) -> torch.device:
    """`"auto"` picks CUDA when available, else the CPU; any torch device string otherwise."""
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(name)


def check_training_args(mean_deg, span_deg, rng) -> int:
    """Validate the random-sector ranges and the integer seed; return the seed."""
    check_sector([mean_deg[0] - span_deg[1] / 2, mean_deg[1] + span_deg[1] / 2], "mean_deg")
    if not 0 < span_deg[0] <= span_deg[1]:
        raise ValueError(f"span_deg must satisfy 0 < min <= max; got {span_deg}")
    return check_seed(rng)


def check_seed(rng) -> int:
    """An int seed from an int, a `numpy.random.Generator` or a `torch.Generator`.

    A generator is advanced by one draw, so successive calls with the same generator give
    different (reproducible) seeds.
    """
    if isinstance(rng, np.random.Generator):
        return int(rng.integers(2**62))
    if isinstance(rng, torch.Generator):
        return int(torch.randint(2**62, (1,), generator=rng).item())
    if isinstance(rng, bool) or not isinstance(rng, int | np.integer) or rng < 0:
        raise ValueError(
            f"rng must be a non-negative int seed, a numpy.random.Generator or a "
            f"torch.Generator; got {rng!r}"
        )
    return int(rng)


def uniform(gen, lo, hi, n):
    """`n` draws of $U[lo, hi]$, float64."""
    return lo + (hi - lo) * torch.rand(n, generator=gen, dtype=torch.float64)


def randn_complex(gen, shape, power):
    r"""$\mathcal{CN}(0, \text{power})$ draws, complex128."""
    re = torch.randn(shape, generator=gen, dtype=torch.float64)
    im = torch.randn(shape, generator=gen, dtype=torch.float64)
    return np.sqrt(power / 2) * torch.complex(re, im)


def random_sectors(gen, n, mean_deg, span_deg):
    """Training sectors (n, 2) in radians: mean, then span, uniform; clipped to the half-plane."""
    mean = uniform(gen, *mean_deg, n)
    span = uniform(gen, *span_deg, n)
    s = torch.stack([mean - span / 2, mean + span / 2], -1)
    return torch.deg2rad(s).clamp(-np.pi / 2, np.pi / 2)
