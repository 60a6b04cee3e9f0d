r"""The posterior-sampler interface every Bayesian precoder consumes.

A posterior sampler turns one pilot observation $y$ into independent
draws $H^{(1)}, \dots, H^{(S)} \sim p(H \mid y)$ of the channel. The
exact samplers of this package ([`beamopt.GaussianPosterior`][],
[`beamopt.GaussianMixturePosterior`][]) and learned (score-based) samplers
share this one method, so a precoder never needs to know where its samples
come from:

```python
samples = sampler.sample(y, n_samples=64, seed=0)   # (64, *channel_shape)
result = beamopt.expected_gramian_precoder(samples, n_streams=2)
```

Anything with a `sample(observation, n_samples, *, seed=None)` method is a
[`PosteriorSampler`][beamopt.PosteriorSampler] (structural typing, no base class to inherit);
plain callables with that signature are adapted by [`as_sampler`][beamopt.as_sampler], which
also converts torch tensors to complex128 numpy arrays and checks the output.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol, runtime_checkable

import numpy as np

from .._repr import summary_repr
from .._validation import as_array, check_int

__all__ = ["PosteriorSampler", "as_sampler", "as_samples", "CallableSampler", "CheckedSampler"]


@runtime_checkable
class PosteriorSampler(Protocol):
    r"""Draws channel samples from the posterior $p(H \mid y)$.

    $$
    H^{(s)} \sim p(H \mid y), \qquad s = 1, \dots, S
    $$

    Methods
    -------
    sample(observation, n_samples, *, seed=None)
        `observation` is whatever the sampler conditions on (for the linear
        pilot model an array of shape `(n_obs,)`, complex); `n_samples` is
        $S \ge 1$; `seed` is None, an int or a random generator of the
        sampler's framework. Returns an array of shape
        `(n_samples, *channel_shape)`, complex, whose draws are independent
        and identically distributed (so any prefix `[:k]` is itself a valid
        `k`-sample draw).

    Notes
    -----
    The protocol is `runtime_checkable`: `isinstance(obj, PosteriorSampler)`
    checks only that a `sample` attribute exists, not its signature.
    """

    def sample(self, observation: Any, n_samples: int, *, seed=None) -> np.ndarray:
        """Return `n_samples` posterior draws, shape `(n_samples, *channel_shape)`."""
        ...


def as_samples(
    samples, n_samples: int | None = None, *, channel_shape=None, name: str = "samples"
) -> np.ndarray:
    """Convert sampler output (ndarray or torch tensor) to a checked complex128 array.

    Parameters
    ----------
    samples : array_like or torch.Tensor, shape (n_samples, *channel_shape)
        Posterior draws; real arrays are promoted to complex.
    n_samples : int, optional
        Required length of the leading axis.
    channel_shape : tuple of int, optional
        Required shape of one draw.
    name : str
        Name used in error messages.

    Returns
    -------
    ndarray, shape (n_samples, *channel_shape), complex128

    Raises
    ------
    ValueError
        If the output is not numeric, contains NaN/inf, or has the wrong shape.
    """
    arr = as_array(samples, name)
    arr = np.asarray(arr, dtype=np.complex128)
    if arr.ndim < 1:
        raise ValueError(f"{name} must have shape (n_samples, *channel_shape); got a scalar")
    if n_samples is not None and arr.shape[0] != n_samples:
        raise ValueError(f"{name} must hold n_samples={n_samples} draws; got shape {arr.shape}")
    if channel_shape is not None and tuple(arr.shape[1:]) != tuple(channel_shape):
        raise ValueError(
            f"{name} must have shape (n_samples, {', '.join(map(str, channel_shape))}); "
            f"got {arr.shape}"
        )
    return arr


@dataclass(frozen=True)
class CallableSampler:
    """Adapts a plain function `function(observation, n_samples, *, seed=None)`.

    Parameters
    ----------
    function : callable
        Returns draws of shape `(n_samples, *channel_shape)` (ndarray or
        torch tensor).
    """

    function: Callable[..., Any]

    __repr__ = summary_repr

    def sample(self, observation, n_samples: int, *, seed=None):
        """Call the wrapped function."""
        return self.function(observation, n_samples, seed=seed)


@dataclass(frozen=True)
class CheckedSampler:
    """A sampler whose output is converted and validated on every call.

    Parameters
    ----------
    sampler : PosteriorSampler
        The wrapped sampler.
    channel_shape : tuple of int, optional
        Required shape of one draw; `None` accepts any shape.
    """

    sampler: PosteriorSampler
    channel_shape: tuple[int, ...] | None = None

    __repr__ = summary_repr

    def sample(self, observation, n_samples: int, *, seed=None) -> np.ndarray:
        """Draw, convert to complex128 numpy and check shape and finiteness.

        Returns
        -------
        ndarray, shape (n_samples, *channel_shape), complex128
        """
        n_samples = check_int(n_samples, "n_samples")
        out = self.sampler.sample(observation, n_samples, seed=seed)
        return as_samples(out, n_samples, channel_shape=self.channel_shape)


def as_sampler(sampler, *, channel_shape=None) -> CheckedSampler:
    """Wrap a sampler object or a plain callable into a checked
    [`PosteriorSampler`][beamopt.PosteriorSampler].

    Parameters
    ----------
    sampler : PosteriorSampler or callable
        Any object with a `sample(observation, n_samples, *, seed=None)`
        method, or a function with that signature.
    channel_shape : tuple of int, optional
        Shape of one channel draw, checked on every call.

    Returns
    -------
    CheckedSampler
        Its `sample` always returns a finite complex128 ndarray of shape
        `(n_samples, *channel_shape)`, even when the wrapped sampler returns
        torch tensors.

    Raises
    ------
    ValueError
        If `sampler` has no `sample` method and is not callable, or
        `channel_shape` is not a tuple of positive ints.

    Examples
    --------
    >>> import numpy as np, beamopt
    >>> def prior(y, n_samples, *, seed=None):
    ...     rng = np.random.default_rng(seed)
    ...     return rng.standard_normal((n_samples, 2, 4)) + 0j
    >>> beamopt.as_sampler(prior, channel_shape=(2, 4)).sample(None, 3, seed=0).shape
    (3, 2, 4)
    """
    if channel_shape is not None:
        channel_shape = tuple(check_int(d, "channel_shape entries") for d in channel_shape)
    if isinstance(sampler, CheckedSampler):
        channel_shape = sampler.channel_shape if channel_shape is None else channel_shape
        sampler = sampler.sampler
    if isinstance(sampler, PosteriorSampler) and callable(getattr(sampler, "sample", None)):
        return CheckedSampler(sampler, channel_shape)
    if callable(sampler):
        return CheckedSampler(CallableSampler(sampler), channel_shape)
    raise ValueError(
        "sampler must have a sample(observation, n_samples, *, seed=None) method or be "
        f"callable with that signature; got {type(sampler).__name__}"
    )
