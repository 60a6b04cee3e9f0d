r"""The bistatic ISAC scenario: problem data, separate from the solvers.

A base station (BS) with a `n_tx`-element ULA serves single-antenna
communication users (CUs) while a sensing receiver with a `n_rx`-element
ULA estimates the direction of arrival (DoA) `doa` of a point target from
its echoes. The BS-target-receiver link is $G = \alpha\, b(\theta)
a(\phi)^H$.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from functools import cached_property

import numpy as np

from .._validation import as_array, as_generator, check_int, check_positive, readonly
from ..arrays import steering_vector, steering_vector_derivative
from ..units import dbm_to_watt
from .channels import path_loss, rician_channel

__all__ = ["BistaticScenario", "check_scenario"]


@dataclass(frozen=True, eq=False)
class BistaticScenario:
    r"""Parameters of one bistatic ISAC scenario (all powers linear, in watts).

    Parameters
    ----------
    n_tx : int
        BS transmit antennas (ULA, half-wavelength spacing).
    n_rx : int
        Sensing-receiver antennas (ULA, half-wavelength spacing).
    dod : float
        Direction of departure $\phi$ of the target seen from the BS, radians.
    doa : float
        Direction of arrival $\theta$ of the target at the sensing
        receiver, radians; the parameter being estimated.
    alpha : complex
        Channel coefficient of the BS-target-receiver link (reflection
        coefficient times path loss amplitude); must be non-zero.
    noise_power : float
        Sensing-receiver noise power $\sigma_s^2$ per antenna, W.
    n_symbols : int
        Symbols $L$ per sensing block.
    power : float
        BS transmit power budget $P$, W.
    channel : array_like, shape (n_tx,) or (n_users, n_tx), complex
        BS-CU channel(s) $h_k$; the CU receives $h_k^H x$.
    comm_noise_power : float
        CU receiver noise power $\sigma_c^2$, W.

    Notes
    -----
    The scenario is immutable; use [`replace`][beamopt.BistaticScenario.replace] for variations.
    Derived quantities (steering vectors, `g0`) are computed once and cached.
    """

    n_tx: int
    n_rx: int
    dod: float
    doa: float
    alpha: complex
    noise_power: float
    n_symbols: int
    power: float
    channel: np.ndarray
    comm_noise_power: float

    def __post_init__(self) -> None:
        set_ = object.__setattr__
        set_(self, "n_tx", check_int(self.n_tx, "n_tx"))
        set_(self, "n_rx", check_int(self.n_rx, "n_rx", minimum=2))
        set_(self, "n_symbols", check_int(self.n_symbols, "n_symbols"))
        for name in ("dod", "doa"):
            val = float(as_array(getattr(self, name), name, dtype=float, ndim=0))
            if not -np.pi / 2 < val < np.pi / 2:
                raise ValueError(f"{name} must lie in (-pi/2, pi/2) radians; got {val}")
            set_(self, name, val)
        alpha = complex(as_array(self.alpha, "alpha", ndim=0))
        if alpha == 0:
            raise ValueError("alpha must be non-zero (no echo means no sensing)")
        set_(self, "alpha", alpha)
        for name in ("noise_power", "power", "comm_noise_power"):
            set_(self, name, check_positive(getattr(self, name), name))
        h = as_array(self.channel, "channel", dtype=complex, ndim=(1, 2))
        if h.shape[-1] != self.n_tx:
            raise ValueError(
                f"channel must have shape (n_tx,) or (n_users, n_tx) with n_tx={self.n_tx}; "
                f"got {h.shape}"
            )
        if np.any(np.linalg.norm(h, axis=-1) == 0):
            raise ValueError("channel must be non-zero for every user")
        set_(self, "channel", readonly(h))

    # ------------------------------------------------------------------ derived
    @property
    def n_users(self) -> int:
        """Number of communication users."""
        return 1 if self.channel.ndim == 1 else self.channel.shape[0]

    @property
    def channels(self) -> np.ndarray:
        """Channels as a 2-D array, shape (n_users, n_tx)."""
        return self.channel.reshape(-1, self.n_tx)

    @cached_property
    def a(self) -> np.ndarray:
        r"""Transmit steering vector $a(\phi)$, shape (n_tx,)."""
        return readonly(steering_vector(self.n_tx, self.dod))

    @cached_property
    def b(self) -> np.ndarray:
        r"""Receive steering vector $b(\theta)$, shape (n_rx,)."""
        return readonly(steering_vector(self.n_rx, self.doa))

    @cached_property
    def db(self) -> np.ndarray:
        r"""$\partial b / \partial\theta$, shape (n_rx,)."""
        return readonly(steering_vector_derivative(self.n_rx, self.doa))

    @cached_property
    def db_norm2(self) -> float:
        r"""Squared norm of the receive-steering derivative.

        $\|\partial b/\partial\theta\|^2 = \pi^2\cos^2\theta\, N_r(N_r^2-1)/12$.
        """
        return float(np.pi**2 * np.cos(self.doa) ** 2 * self.n_rx * (self.n_rx**2 - 1) / 12.0)

    @cached_property
    def g0(self) -> float:
        r"""Echo-to-noise ratio per unit transmit gain, $|\alpha|^2/\sigma_s^2$."""
        return abs(self.alpha) ** 2 / self.noise_power

    @property
    def sensing_snr(self) -> float:
        """Receive sensing SNR of MRT at full power: $g_0 P N_t N_r$."""
        return self.g0 * self.power * self.n_tx * self.n_rx

    @cached_property
    def max_snr(self) -> np.ndarray:
        r"""Largest single-user SNR per user, $P\|h_k\|^2/\sigma_c^2$, shape (n_users,)."""
        return readonly(
            self.power * np.sum(np.abs(self.channels) ** 2, axis=-1) / self.comm_noise_power
        )

    def replace(self, **changes) -> BistaticScenario:
        """Return a copy with some fields replaced (validated again)."""
        return dataclasses.replace(self, **changes)

    # ------------------------------------------------------------ constructors
    @classmethod
    def from_geometry(
        cls,
        *,
        n_tx: int = 16,
        n_rx: int = 16,
        dod_deg: float = 15.0,
        doa_deg: float = 30.0,
        user_angle_deg=-10.0,
        d_bs_target: float = 30.0,
        d_target_rx: float = 40.0,
        d_bs_user=80.0,
        exponent_sensing: float = 2.2,
        exponent_comm: float = 2.8,
        reflection: complex = 1.0,
        k_factor: float = 1.0,
        power_dbm: float = 30.0,
        noise_dbm: float = -80.0,
        comm_noise_dbm: float = -80.0,
        n_symbols: int = 256,
        rng=0,
    ) -> BistaticScenario:
        r"""Build a scenario from link distances and powers in dBm.

        The BS-target-receiver gain is
        $\alpha = \varsigma\sqrt{\mathrm{PL}(d_{bt})\mathrm{PL}(d_{tr})}$ with
        path loss `C0 = -30 dB` at 1 m ([`beamopt.path_loss`][]); the CU
        channel is Rician ([`beamopt.rician_channel`][]) with a LoS steering
        component toward `user_angle_deg`. Pass an array of user angles
        (and optionally distances) for several users.
        """
        angles = np.deg2rad(np.asarray(user_angle_deg, dtype=float))
        gain = path_loss(np.broadcast_to(np.asarray(d_bs_user, float), angles.shape), exponent_comm)
        h = rician_channel(n_tx, angles, k_factor=k_factor, gain=gain, rng=as_generator(rng))
        alpha = complex(reflection) * np.sqrt(
            path_loss(d_bs_target, exponent_sensing) * path_loss(d_target_rx, exponent_sensing)
        )
        return cls(
            n_tx=n_tx,
            n_rx=n_rx,
            dod=np.deg2rad(dod_deg),
            doa=np.deg2rad(doa_deg),
            alpha=alpha,
            noise_power=float(dbm_to_watt(noise_dbm)),
            n_symbols=n_symbols,
            power=float(dbm_to_watt(power_dbm)),
            channel=h,
            comm_noise_power=float(dbm_to_watt(comm_noise_dbm)),
        )

    @classmethod
    def default(cls, **overrides) -> BistaticScenario:
        """The reference scenario used by the examples, figures and CLI.

        ============================  ===============================================
        quantity                      default
        ============================  ===============================================
        arrays                        `n_tx = n_rx = 16`, half-wavelength ULAs
        target                        DoD 15 deg at the BS, DoA 30 deg at the receiver
        BS-target / target-receiver   30 m / 40 m, exponent 2.2, unit reflection
        BS-CU                         80 m, exponent 2.8, Rician K = 1 (0 dB), LoS at -10 deg
        path loss                     `C0 = -30 dB` at 1 m
        transmit power                30 dBm (1 W)
        noise (sensing and CU)        -80 dBm
        symbols per block             `L = 256`
        CU fading draw                seed 0
        ============================  ===============================================

        With these numbers the full-power MRT sensing SNR `g0 P Nt Nr` is
        about 6.3 dB (the regime where Gaussian and deterministic signals
        differ visibly) and the CU's largest SNR is about 39 dB.
        Keyword arguments override [`from_geometry`][beamopt.BistaticScenario.from_geometry]
        parameters.
        """
        return cls.from_geometry(**overrides)


def check_scenario(scenario, *, single_user: str | None = None) -> BistaticScenario:
    """Require a [`BistaticScenario`][beamopt.BistaticScenario]; with `single_user` (what needs it),
    one user."""
    if not isinstance(scenario, BistaticScenario):
        raise ValueError(f"scenario must be a BistaticScenario; got {type(scenario).__name__}")
    if single_user is not None and scenario.n_users != 1:
        raise ValueError(
            f"{single_user} needs a single communication user; got n_users={scenario.n_users}"
        )
    return scenario
