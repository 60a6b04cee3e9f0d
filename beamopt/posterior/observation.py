r"""Linear pilot observation model and sounding (comb / hopping) masks.

The base station observes the channel through a known linear map in complex
Gaussian noise,

$$
y = A \operatorname{vec}(H) + n, \qquad n \sim \mathcal{CN}(0, \sigma^2 I),
$$

where $\operatorname{vec}$ stacks the entries of `H` in numpy's
row-major (C) order, i.e. `H.reshape(-1)`. Sounding reference signals that
occupy only some subcarriers and time slots (an interleaved comb in
frequency that hops across sub-bands over time, as in 5G NR SRS) are a
selection $A$ built from a boolean mask
([`LinearObservation.from_mask`][beamopt.LinearObservation.from_mask],
[`comb_mask`][beamopt.comb_mask], [`hopping_mask`][beamopt.hopping_mask]).

References
----------
*A Perception vs. Distortion Perspective on Score-Based Generative Channel Estimation*, Section V-A,
eq. (22)-(23).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .._repr import summary_repr
from .._validation import as_array, as_generator, check_int, check_positive, readonly

__all__ = ["LinearObservation", "comb_mask", "hopping_mask"]


@dataclass(frozen=True, eq=False)
class LinearObservation:
    r"""The linear pilot model $y = A\,\operatorname{vec}(H) + n$.

    Parameters
    ----------
    A : array_like, shape (n_obs, n_channel), complex
        Observation matrix acting on `H.reshape(-1)`; `n_channel` must equal
        `prod(channel_shape)`. `n_obs = 0` (no pilots) is allowed and makes
        every posterior equal to its prior.
    channel_shape : tuple of int
        Shape of one channel, e.g. `(n_rx, n_tx)` or
        `(n_subcarriers, n_rx, n_tx)`.
    noise_var : float
        Noise variance $\sigma^2 > 0$ per complex observation.
    """

    A: np.ndarray
    channel_shape: tuple[int, ...]
    noise_var: float

    __repr__ = summary_repr

    def __post_init__(self) -> None:
        set_ = object.__setattr__
        shape = tuple(check_int(d, "channel_shape entries") for d in self.channel_shape)
        if not shape:
            raise ValueError("channel_shape must have at least one axis")
        set_(self, "channel_shape", shape)
        A = as_array(self.A, "A", dtype=complex, ndim=2)
        if A.shape[1] != int(np.prod(shape)):
            raise ValueError(
                f"A must have shape (n_obs, {int(np.prod(shape))}) for channel_shape {shape}; "
                f"got {A.shape}"
            )
        set_(self, "A", readonly(A))
        set_(self, "noise_var", check_positive(self.noise_var, "noise_var"))

    @property
    def n_obs(self) -> int:
        """Number of complex observations $m$."""
        return self.A.shape[0]

    @property
    def n_channel(self) -> int:
        """Number of complex channel entries, `prod(channel_shape)`."""
        return self.A.shape[1]

    def _vec(self, H, name: str) -> np.ndarray:
        H = as_array(H, name, dtype=complex)
        k = len(self.channel_shape)
        if H.ndim < k or H.shape[H.ndim - k :] != self.channel_shape:
            raise ValueError(
                f"{name} must have shape (..., {', '.join(map(str, self.channel_shape))}); "
                f"got {H.shape}"
            )
        return H.reshape(*H.shape[: H.ndim - k], self.n_channel)

    def apply(self, H) -> np.ndarray:
        r"""Noise-free observation $A\,\operatorname{vec}(H)$.

        Parameters
        ----------
        H : array_like, shape (..., *channel_shape), complex

        Returns
        -------
        ndarray, shape (..., n_obs), complex128
        """
        return self._vec(H, "H") @ self.A.T

    def observe(self, H, *, seed=None) -> np.ndarray:
        r"""Noisy pilot observation $y = A\,\operatorname{vec}(H) + n$.

        Parameters
        ----------
        H : array_like, shape (..., *channel_shape), complex
            True channel(s); leading axes give independent observations.
        seed : None, int or numpy.random.Generator
            Source of the noise.

        Returns
        -------
        ndarray, shape (..., n_obs), complex128
        """
        clean = self.apply(H)
        rng = as_generator(seed)
        noise = rng.standard_normal(clean.shape) + 1j * rng.standard_normal(clean.shape)
        return clean + np.sqrt(self.noise_var / 2.0) * noise

    def check_observation(self, y, name: str = "y", *, single: bool = False):
        """Return received pilots `y` as a complex array of shape `(..., n_obs)` or raise
        `ValueError`.

        With `single=True` exactly one observation, shape `(n_obs,)`, is allowed.
        """
        y = as_array(y, name, dtype=complex)
        if y.ndim < 1 or y.shape[-1] != self.n_obs or (single and y.ndim != 1):
            want = f"({self.n_obs},)" if single else f"(..., {self.n_obs})"
            raise ValueError(f"{name} must have shape {want}; got {y.shape}")
        return y

    @classmethod
    def from_mask(cls, mask, channel_shape, noise_var: float, *, pilots=None) -> LinearObservation:
        r"""Observe the channel entries selected by a boolean mask.

        $$
        y_k = H_k P + N_k \quad \text{for every selected slot } k,
        $$

        where $H_k$ is the `(n_rx, n_tx)` slice at slot `k` and
        $P = I$ unless `pilots` is given.

        Parameters
        ----------
        mask : array_like of bool, shape channel_shape[:mask.ndim]
            Selected slots; a mask over the leading axes (e.g.
            `(n_time, n_subcarriers)`) selects whole trailing blocks.
        channel_shape : tuple of int
            Shape of one channel.
        noise_var : float
            Noise variance per complex observation, > 0.
        pilots : array_like, shape (n_tx, n_pilots), complex, optional
            Pilot matrix $P$ applied to every selected `(n_rx, n_tx)`
            slice; then `mask` must cover exactly `channel_shape[:-2]`.

        Returns
        -------
        LinearObservation
            With `n_obs = mask.sum() * prod(channel_shape[mask.ndim:])` (times
            `n_pilots / n_tx` with pilots), ordered like `H[mask]`.
        """
        shape = tuple(check_int(d, "channel_shape entries") for d in channel_shape)
        mask = as_array(mask, "mask")
        if mask.dtype != np.bool_:
            raise ValueError(f"mask must be boolean; got dtype {mask.dtype}")
        if mask.ndim > len(shape) or mask.shape != shape[: mask.ndim]:
            raise ValueError(
                f"mask shape must be a prefix of channel_shape {shape}; got {mask.shape}"
            )
        if pilots is None:
            block = np.eye(int(np.prod(shape[mask.ndim :])))
        else:
            if len(shape) < 2 or mask.ndim != len(shape) - 2:
                raise ValueError(
                    "with pilots, mask must have shape channel_shape[:-2] "
                    f"= {shape[:-2]}; got {mask.shape}"
                )
            P = as_array(pilots, "pilots", dtype=complex, ndim=2)
            if P.shape[0] != shape[-1]:
                raise ValueError(f"pilots must have shape ({shape[-1]}, n_pilots); got {P.shape}")
            # Row-major vec(H_k P) = (I_{n_rx} kron P^T) vec(H_k).
            block = np.kron(np.eye(shape[-2]), P.T)
        selector = np.eye(mask.size)[mask.reshape(-1)]
        return cls(np.kron(selector, block), shape, noise_var)


def comb_mask(n_subcarriers: int, spacing: int, *, offset: int = 0) -> np.ndarray:
    """Interleaved comb: every `spacing`-th subcarrier starting at `offset`.

    Parameters
    ----------
    n_subcarriers : int
        Number of subcarriers, >= 1.
    spacing : int
        Comb spacing (1 = every subcarrier), >= 1.
    offset : int
        First occupied subcarrier, `0 <= offset < spacing`.

    Returns
    -------
    ndarray, shape (n_subcarriers,), bool
    """
    n_subcarriers = check_int(n_subcarriers, "n_subcarriers")
    spacing = check_int(spacing, "spacing")
    offset = check_int(offset, "offset", minimum=0)
    if offset >= spacing:
        raise ValueError(f"offset must be in [0, spacing={spacing}); got {offset}")
    return np.arange(n_subcarriers) % spacing == offset


def hopping_mask(
    n_time: int,
    n_subcarriers: int,
    *,
    band_size: int,
    spacing: int = 1,
    offset: int = 0,
    first_band: int = 0,
) -> np.ndarray:
    """Frequency-hopping sounding: one sub-band per time slot, cycling through the band.

    At time slot `t` the sounding occupies sub-band
    `b = (first_band + t) mod n_bands` (subcarriers
    `[b * band_size, (b + 1) * band_size)`), with a comb of `spacing`
    inside it, where `n_bands = ceil(n_subcarriers / band_size)`.

    Parameters
    ----------
    n_time : int
        Number of time slots, >= 1.
    n_subcarriers : int
        Number of subcarriers, >= 1.
    band_size : int
        Subcarriers per hop, `1 <= band_size <= n_subcarriers`.
    spacing, offset : int
        Comb inside each hop (see [`comb_mask`][beamopt.comb_mask]).
    first_band : int
        Sub-band sounded at `t = 0`, >= 0.

    Returns
    -------
    ndarray, shape (n_time, n_subcarriers), bool
    """
    n_time = check_int(n_time, "n_time")
    comb = comb_mask(n_subcarriers, spacing, offset=offset)
    band_size = check_int(band_size, "band_size")
    if band_size > n_subcarriers:
        raise ValueError(f"band_size must be <= n_subcarriers={n_subcarriers}; got {band_size}")
    first_band = check_int(first_band, "first_band", minimum=0)
    n_bands = -(-n_subcarriers // band_size)
    band_of_subcarrier = np.arange(n_subcarriers) // band_size
    active = (first_band + np.arange(n_time)) % n_bands
    return (band_of_subcarrier[None, :] == active[:, None]) & comb[None, :]
