r"""The posterior-sampler interface every Bayesian precoder consumes.

A posterior sampler turns received pilots $y$ into independent draws
$H^{(1)}, \dots, H^{(S)} \sim p(H \mid y)$ of the channel. The exact samplers of this
package ([`beamopt.GaussianPosterior`][], [`beamopt.GaussianMixturePosterior`][]) and the
learned (score-based) samplers share this one method, so a precoder never needs to know
where its samples come from:

```python
samples = sampler.sample(y, n_samples=64, seed=0)   # (64, *channel_shape)
result = beamopt.expected_gramian_precoder(samples, n_streams=2)
batch = sampler.sample(Y, n_samples=64, seed=0)     # Y (B, n_obs) -> (B, 64, *channel_shape)
```

Two names, two meanings: the *pilot model* (a [`beamopt.LinearObservation`][], the map
$y = A\,\mathrm{vec}(H) + n$ and its noise) is the constructor argument `pilot_model`;
the *received pilots* are the `y` passed to `sample`. One call takes one pilot vector or a
batch of them (leading axis), which the package's samplers draw in one vectorised pass.

Anything with a `sample(y, n_samples, *, seed=None)` method is a
[`PosteriorSampler`][beamopt.PosteriorSampler] (structural typing, no base class to inherit);
plain callables with that signature are adapted by [`as_sampler`][beamopt.as_sampler], which
also converts torch tensors to complex128 numpy arrays, checks the output and, for samplers
that take one pilot vector at a time, splits a batch into single calls.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol, runtime_checkable

import numpy as np

from .._deprecation import renamed_keyword
from .._repr import summary_repr
from .._validation import as_array, as_generator, check_int

__all__ = [
    "PosteriorSampler",
    "as_sampler",
    "as_samples",
    "pilot_batch",
    "CallableSampler",
    "CheckedSampler",
]


def pilot_batch(y, obs_shape, name: str = "y") -> tuple[np.ndarray, bool]:
    """Received pilots as a batch: `(Y, batched)` with `Y` of shape `(B, *obs_shape)`.

    `y` of shape `obs_shape` is one pilot vector (`B = 1`, `batched=False`); shape
    `(B, *obs_shape)` is a batch of `B >= 1`. Anything else raises `ValueError` naming
    both accepted shapes.
    """
    obs_shape = tuple(obs_shape)
    arr = as_array(y, name, dtype=complex)
    if arr.shape == obs_shape:
        return arr[None], False
    if arr.ndim == len(obs_shape) + 1 and arr.shape[1:] == obs_shape and arr.shape[0] >= 1:
        return arr, True
    dims = ", ".join(map(str, obs_shape))
    one = f"({dims},)" if len(obs_shape) == 1 else f"({dims})"
    raise ValueError(f"{name} must have shape {one} or (B, {dims}); got {arr.shape}")


@runtime_checkable
class PosteriorSampler(Protocol):
    r"""Draws channel samples from the posterior $p(H \mid y)$.

    $$
    H^{(s)} \sim p(H \mid y), \qquad s = 1, \dots, S
    $$

    Methods
    -------
    sample(y, n_samples, *, seed=None)
        `y` is what the sampler conditions on: for the linear pilot model one received
        pilot vector of shape `(n_obs,)`, complex, or a batch of shape `(B, n_obs)`;
        `n_samples` is $S \ge 1$; `seed` is None, an int or a random generator of the
        sampler's framework. Returns an array of shape `(n_samples, *channel_shape)` for
        one pilot vector and `(B, n_samples, *channel_shape)` for a batch, complex, whose
        draws are independent and identically distributed given their pilot vector (so
        any prefix `[..., :k, ...]` along the sample axis is itself a valid `k`-sample
        draw).

    Notes
    -----
    The protocol is `runtime_checkable`: `isinstance(obj, PosteriorSampler)`
    checks only that a `sample` attribute exists, not its signature. A sampler that takes
    one pilot vector at a time still fits: [`as_sampler`][beamopt.as_sampler] with
    `batched=False` splits batches for it.
    """

    def sample(self, y: Any, n_samples: int, *, seed=None) -> np.ndarray:
        """Return `n_samples` posterior draws per pilot vector."""
        ...


def as_samples(
    samples,
    n_samples: int | None = None,
    *,
    channel_shape=None,
    n_batch: int | None = None,
    name: str = "samples",
) -> np.ndarray:
    """Convert sampler output (ndarray or torch tensor) to a checked complex128 array.

    Parameters
    ----------
    samples : array_like or torch.Tensor
        Posterior draws, shape `(n_samples, *channel_shape)`, or
        `(n_batch, n_samples, *channel_shape)` when `n_batch` is given; real arrays are
        promoted to complex.
    n_samples : int, optional
        Required length of the sample axis.
    channel_shape : tuple of int, optional
        Required shape of one draw.
    n_batch : int, optional
        Number of pilot vectors of a batched call: the leading axis must have this length.
    name : str
        Name used in error messages.

    Returns
    -------
    ndarray, complex128

    Raises
    ------
    ValueError
        If the output is not numeric, contains NaN/inf, or has the wrong shape.
    """
    arr = as_array(samples, name)
    arr = np.asarray(arr, dtype=np.complex128)
    lead = 0 if n_batch is None else 1
    want = "(n_samples, *channel_shape)" if n_batch is None else "(B, n_samples, *channel_shape)"
    if arr.ndim < 1 + lead:
        got = "a scalar" if arr.ndim == 0 else f"shape {arr.shape}"
        raise ValueError(f"{name} must have shape {want}; got {got}")
    if n_batch is not None and arr.shape[0] != n_batch:
        raise ValueError(
            f"{name} must hold one set of draws per pilot vector (B={n_batch}); got shape "
            f"{arr.shape}. A sampler that takes one pilot vector at a time needs "
            "as_sampler(..., batched=False)"
        )
    if n_samples is not None and arr.shape[lead] != n_samples:
        raise ValueError(f"{name} must hold n_samples={n_samples} draws; got shape {arr.shape}")
    if channel_shape is not None and tuple(arr.shape[lead + 1 :]) != tuple(channel_shape):
        dims = ", ".join(map(str, channel_shape))
        batch = "" if n_batch is None else "B, "
        raise ValueError(
            f"{name} must have shape ({batch}n_samples, {dims}); got {arr.shape}"
            + (
                ". A sampler that takes one pilot vector at a time needs "
                "as_sampler(..., batched=False)"
                if n_batch is not None
                else ""
            )
        )
    return arr


@dataclass(frozen=True)
class CallableSampler:
    """Adapts a plain function `function(y, n_samples, *, seed=None)`.

    Parameters
    ----------
    function : callable
        Returns draws of shape `(n_samples, *channel_shape)` (ndarray or torch tensor), or
        `(B, n_samples, *channel_shape)` for a batch of pilot vectors.
    """

    function: Callable[..., Any]

    __repr__ = summary_repr

    def sample(self, y, n_samples: int, *, seed=None):
        """Call the wrapped function."""
        return self.function(y, n_samples, seed=seed)


def _split_seeds(seed, n: int) -> list:
    """One seed per single call of a split batch, reproducible from `seed`."""
    if seed is None or isinstance(seed, int | np.integer | np.random.Generator):
        rng = as_generator(seed)
        return [int(s) for s in rng.integers(0, 2**63 - 1, size=n)]
    return [seed] * n  # a framework generator (e.g. torch) advances from call to call


@dataclass(frozen=True)
class CheckedSampler:
    """A sampler whose output is converted and validated on every call.

    Parameters
    ----------
    sampler : PosteriorSampler
        The wrapped sampler.
    channel_shape : tuple of int, optional
        Required shape of one draw; `None` accepts any shape.
    obs_shape : tuple of int, optional
        Shape of one received pilot vector, to tell a batch from a single vector; default:
        `sampler.pilot_model.n_obs` or `sampler.model.obs_shape` when the sampler has one,
        else batches are recognised from the output's shape.
    batched : bool
        Whether the wrapped sampler draws a batch of pilot vectors in one call; `False`
        splits a batch into one call per pilot vector.
    """

    sampler: PosteriorSampler
    channel_shape: tuple[int, ...] | None = None
    obs_shape: tuple[int, ...] | None = None
    batched: bool = True

    __repr__ = summary_repr

    def _obs_shape(self) -> tuple[int, ...] | None:
        if self.obs_shape is not None:
            return self.obs_shape
        pilot_model = getattr(self.sampler, "pilot_model", None)
        if pilot_model is not None and hasattr(pilot_model, "n_obs"):
            return (int(pilot_model.n_obs),)
        shape = getattr(getattr(self.sampler, "model", None), "obs_shape", None)
        return None if shape is None else tuple(shape)

    @renamed_keyword("observation", "y")
    def sample(self, y, n_samples: int, *, seed=None) -> np.ndarray:
        """Draw, convert to complex128 numpy and check shape and finiteness.

        Returns
        -------
        ndarray, shape (n_samples, *channel_shape) or (B, n_samples, *channel_shape), complex128
        """
        n_samples = check_int(n_samples, "n_samples")
        obs_shape = self._obs_shape()
        n_batch = None
        if obs_shape is not None and y is not None:
            Y, batched = pilot_batch(y, obs_shape)
            n_batch = len(Y) if batched else None
        if n_batch is not None and not self.batched:
            seeds = _split_seeds(seed, n_batch)
            out = [
                as_samples(
                    self.sampler.sample(Y[b], n_samples, seed=seeds[b]),
                    n_samples,
                    channel_shape=self.channel_shape,
                    name="samples",
                )
                for b in range(n_batch)
            ]
            return np.stack(out)
        out = self.sampler.sample(y, n_samples, seed=seed)
        if n_batch is None and obs_shape is None and self.channel_shape is not None:
            # No pilot shape known: a batch is recognised by its output's extra axis.
            arr = np.asarray(as_array(out, "samples"))
            if arr.ndim == len(self.channel_shape) + 2:
                n_batch = arr.shape[0]
        return as_samples(out, n_samples, channel_shape=self.channel_shape, n_batch=n_batch)


def as_sampler(
    sampler, *, channel_shape=None, obs_shape=None, batched: bool = True
) -> CheckedSampler:
    """Wrap a sampler object or a plain callable into a checked
    [`PosteriorSampler`][beamopt.PosteriorSampler].

    Parameters
    ----------
    sampler : PosteriorSampler or callable
        Any object with a `sample(y, n_samples, *, seed=None)` method, or a function with
        that signature.
    channel_shape : tuple of int, optional
        Shape of one channel draw, checked on every call.
    obs_shape : tuple of int, optional
        Shape of one received pilot vector (e.g. `(n_obs,)`), so that a batch
        `(B, *obs_shape)` is recognised; default from the sampler's `pilot_model` or
        `model.obs_shape` when it has one.
    batched : bool
        `True` (default): the sampler draws a batch of pilot vectors in one call and returns
        `(B, n_samples, *channel_shape)`, which is checked. `False`: the sampler takes one
        pilot vector at a time; a batch is split into one call per vector (seeds derived
        from `seed`) and the draws stacked. Needs `obs_shape` (or a sampler that knows it).

    Returns
    -------
    CheckedSampler
        Its `sample` always returns a finite complex128 ndarray of shape
        `(n_samples, *channel_shape)` for one pilot vector and
        `(B, n_samples, *channel_shape)` for a batch, even when the wrapped sampler returns
        torch tensors.

    Raises
    ------
    ValueError
        If `sampler` has no `sample` method and is not callable, `channel_shape` or
        `obs_shape` is not a tuple of positive ints, or `batched` is not a bool.

    Examples
    --------
    >>> import numpy as np, beamopt
    >>> def prior(y, n_samples, *, seed=None):
    ...     rng = np.random.default_rng(seed)
    ...     return rng.standard_normal((n_samples, 2, 4)) + 0j
    >>> beamopt.as_sampler(prior, channel_shape=(2, 4)).sample(None, 3, seed=0).shape
    (3, 2, 4)
    >>> one_at_a_time = beamopt.as_sampler(prior, channel_shape=(2, 4), obs_shape=(5,),
    ...                                    batched=False)
    >>> one_at_a_time.sample(np.zeros((7, 5)), 3, seed=0).shape
    (7, 3, 2, 4)
    """
    if channel_shape is not None:
        channel_shape = tuple(check_int(d, "channel_shape entries") for d in channel_shape)
    if obs_shape is not None:
        obs_shape = tuple(check_int(d, "obs_shape entries") for d in obs_shape)
    if not isinstance(batched, bool):
        raise ValueError(f"batched must be a bool; got {batched!r}")
    if isinstance(sampler, CheckedSampler):
        channel_shape = sampler.channel_shape if channel_shape is None else channel_shape
        obs_shape = sampler.obs_shape if obs_shape is None else obs_shape
        sampler = sampler.sampler
    if isinstance(sampler, PosteriorSampler) and callable(getattr(sampler, "sample", None)):
        return CheckedSampler(sampler, channel_shape, obs_shape, batched)
    if callable(sampler):
        return CheckedSampler(CallableSampler(sampler), channel_shape, obs_shape, batched)
    raise ValueError(
        "sampler must have a sample(y, n_samples, *, seed=None) method or be "
        f"callable with that signature; got {type(sampler).__name__}"
    )
