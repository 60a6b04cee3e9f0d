r"""The bistatic ISAC scenario: problem data, separate from the solvers.

A base station (BS) with a `n_tx`-element ULA serves single-antenna
communication users (CUs) while a sensing receiver with a `n_rx`-element
ULA estimates the direction of arrival (DoA) `doa` of a point target from
its echoes. The BS-target-receiver link is $G = \alpha\, b(\theta)
a(\phi)^H$.
"""

from __future__ import annotations

import dataclasses
import functools
import inspect
import numbers
from dataclasses import dataclass
from functools import cached_property

import numpy as np

from .._repr import short_repr
from .._validation import (
    as_array,
    as_generator,
    check_int,
    check_positive,
    check_real,
    readonly,
)
from ..arrays import steering_vector, steering_vector_derivative
from ..units import dbm_to_watt, linear_to_db
from ._units import to_fields, to_geometry
from .channels import path_loss, rician_channel

__all__ = ["BistaticScenario", "check_scenario"]


def _geometry_units(from_geometry):
    """`from_geometry` taking the scenario's W/radian names too (see the class Notes)."""

    names = tuple(inspect.signature(from_geometry).parameters)[1:]  # without cls

    @functools.wraps(from_geometry)
    def wrapper(cls, **kwargs):
        geometry, exact = to_geometry(kwargs, "BistaticScenario.from_geometry()", names)
        scenario = from_geometry(cls, **geometry)
        return scenario.replace(**exact) if exact else scenario

    return wrapper


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
    tx_positions, rx_positions : array_like, shape (n_tx,) / (n_rx,), optional
        Element positions in wavelengths of a non-ideal (calibrated, impaired or
        learned) linear array; the steering vector is then
        $[a(\phi)]_k = \exp(j 2\pi p_k \sin\phi)$. `None` (default) is the
        half-wavelength ULA, $p_k = (k - (N-1)/2)/2$. Positions are referenced
        to their centroid: a common shift only multiplies the echo by a phase, which
        the unknown phase of $\alpha$ absorbs, and the centroid reference keeps
        $b^H \partial b = 0$ that the CRBs rely on. The channel `channel` is
        data and is not recomputed from them.

    Notes
    -----
    The scenario is immutable; use [`replace`][beamopt.BistaticScenario.replace] for variations.
    Derived quantities (steering vectors, `g0`) are computed once and cached.

    One unit vocabulary: the constructor, [`replace`][beamopt.BistaticScenario.replace],
    [`from_geometry`][beamopt.BistaticScenario.from_geometry] and
    [`default`][beamopt.BistaticScenario.default] all accept each quantity under its linear
    name or its logarithmic one, `power` (W) or `power_dbm`, `noise_power` or `noise_dbm`,
    `comm_noise_power` or `comm_noise_dbm`, `dod`/`doa` (rad) or `dod_deg`/`doa_deg`, but
    not both; an unknown name is a `ValueError` naming the close matches.
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
    tx_positions: np.ndarray | None = None
    rx_positions: np.ndarray | None = None

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
        for name, n in (("tx_positions", self.n_tx), ("rx_positions", self.n_rx)):
            if getattr(self, name) is not None:
                pos = as_array(getattr(self, name), name, dtype=float, ndim=1)
                if pos.size != n:
                    raise ValueError(f"{name} must have {n} elements; got {pos.size}")
                set_(self, name, readonly(pos - pos.mean()))

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
        if self.tx_positions is not None:
            return readonly(np.exp(2j * np.pi * self.tx_positions * np.sin(self.dod)))
        return readonly(steering_vector(self.n_tx, self.dod))

    @cached_property
    def b(self) -> np.ndarray:
        r"""Receive steering vector $b(\theta)$, shape (n_rx,)."""
        if self.rx_positions is not None:
            return readonly(np.exp(2j * np.pi * self.rx_positions * np.sin(self.doa)))
        return readonly(steering_vector(self.n_rx, self.doa))

    @cached_property
    def db(self) -> np.ndarray:
        r"""$\partial b / \partial\theta$, shape (n_rx,)."""
        if self.rx_positions is not None:
            return readonly(2j * np.pi * self.rx_positions * np.cos(self.doa) * self.b)
        return readonly(steering_vector_derivative(self.n_rx, self.doa))

    @cached_property
    def db_norm2(self) -> float:
        r"""Squared norm of the receive-steering derivative.

        $\|\partial b/\partial\theta\|^2 = \pi^2\cos^2\theta\, N_r(N_r^2-1)/12$
        for the ideal ULA, $4\pi^2\cos^2\theta \sum_k p_k^2$ with `rx_positions`.
        """
        if self.rx_positions is not None:
            return float(4 * np.pi**2 * np.cos(self.doa) ** 2 * np.sum(self.rx_positions**2))
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

    def __repr__(self) -> str:
        # the channel alone is n_users x n_tx complex numbers: headline numbers only
        custom = self.tx_positions is not None or self.rx_positions is not None
        return short_repr(self, {
            "n_tx": self.n_tx, "n_rx": self.n_rx, "n_users": self.n_users,
            "dod_deg": np.rad2deg(self.dod), "doa_deg": np.rad2deg(self.doa),
            "power_dbm": linear_to_db(self.power) + 30.0,
            "sensing_snr_db": linear_to_db(self.sensing_snr),
            "max_snr_db": linear_to_db(self.max_snr), "n_symbols": self.n_symbols,
            "positions": "custom" if custom else None,
        })  # fmt: skip

    def replace(self, **changes) -> BistaticScenario:
        """Return a copy with some fields replaced (validated again).

        Takes the field names (`power`, `doa`, ...) or their dBm/degree names
        (`power_dbm`, `doa_deg`, ...). Geometry (distances, user angles) is not stored:
        build a new scenario with [`from_geometry`][beamopt.BistaticScenario.from_geometry].
        """
        changes = to_fields(changes, "BistaticScenario.replace()", _FIELDS, _GEOMETRY)
        return dataclasses.replace(self, **changes)

    # ------------------------------------------------------------ constructors
    @classmethod
    @_geometry_units
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

        Every argument is checked here and a bad one is named with its unit: angles in
        degrees (target angles in $(-90, 90)$, user angles in $[-90, 90]$), distances in
        metres ($> 0$), powers in dBm (real numbers; text such as `"30"` is refused).
        The scenario's own names are accepted instead (`power=` in W for `power_dbm`,
        `noise_power`, `comm_noise_power`, `dod=`/`doa=` in radians), not both.
        """
        dod = check_real(dod_deg, "dod_deg", "degrees", lower=-90, upper=90)
        doa = check_real(doa_deg, "doa_deg", "degrees", lower=-90, upper=90)
        user_deg = as_array(user_angle_deg, "user_angle_deg (degrees)", dtype=float, ndim=(0, 1))
        if np.any(np.abs(user_deg) > 90):
            raise ValueError(f"user_angle_deg must lie in [-90, 90] degrees; got {user_deg}")
        distances = {
            name: check_real(value, name, "m", lower=0)
            for name, value in (("d_bs_target", d_bs_target), ("d_target_rx", d_target_rx))
        }
        d_user = as_array(d_bs_user, "d_bs_user (m)", dtype=float, ndim=(0, 1))
        if np.any(d_user <= 0):
            raise ValueError(f"d_bs_user must be > 0 m; got {d_user}")
        powers = {
            name: check_real(value, name, "dBm")
            for name, value in (
                ("power_dbm", power_dbm),
                ("noise_dbm", noise_dbm),
                ("comm_noise_dbm", comm_noise_dbm),
            )
        }
        exponents = {"exponent_sensing": exponent_sensing, "exponent_comm": exponent_comm}
        for name, value in exponents.items():
            check_real(value, name, "(path-loss exponent, unitless)", lower=0)
        if isinstance(reflection, bool | str | bytes) or not isinstance(reflection, numbers.Number):
            raise ValueError(f"reflection must be a (complex) number; got {reflection!r}")
        angles = np.deg2rad(user_deg)
        gain = path_loss(np.broadcast_to(d_user, angles.shape), exponent_comm)
        h = rician_channel(n_tx, angles, k_factor=k_factor, gain=gain, rng=as_generator(rng))
        alpha = complex(reflection) * np.sqrt(
            path_loss(distances["d_bs_target"], exponent_sensing)
            * path_loss(distances["d_target_rx"], exponent_sensing)
        )
        return cls(
            n_tx=n_tx,
            n_rx=n_rx,
            dod=np.deg2rad(dod),
            doa=np.deg2rad(doa),
            alpha=alpha,
            noise_power=float(dbm_to_watt(powers["noise_dbm"])),
            n_symbols=n_symbols,
            power=float(dbm_to_watt(powers["power_dbm"])),
            channel=h,
            comm_noise_power=float(dbm_to_watt(powers["comm_noise_dbm"])),
        )

    def to_dict(self) -> dict:
        """Every field as JSON-serialisable numbers (complex values as `[re, im]` pairs).

        [`from_dict`][beamopt.BistaticScenario.from_dict] rebuilds an equal scenario; JSON
        keeps doubles exactly, so the round trip through a CSV header is exact.
        """
        h = self.channel
        return {
            "n_tx": self.n_tx,
            "n_rx": self.n_rx,
            "dod": self.dod,
            "doa": self.doa,
            "alpha": [self.alpha.real, self.alpha.imag],
            "noise_power": self.noise_power,
            "n_symbols": self.n_symbols,
            "power": self.power,
            "channel": {"real": h.real.tolist(), "imag": h.imag.tolist()},
            "comm_noise_power": self.comm_noise_power,
            **{
                name: getattr(self, name).tolist()
                for name in ("tx_positions", "rx_positions")
                if getattr(self, name) is not None
            },
        }

    @classmethod
    def from_dict(cls, data) -> BistaticScenario:
        """Rebuild a scenario from [`to_dict`][beamopt.BistaticScenario.to_dict]'s output."""
        try:
            d = dict(data)
            re, im = d.pop("alpha")
            ch = d.pop("channel")
            channel = np.asarray(ch["real"], dtype=float) + 1j * np.asarray(ch["imag"], dtype=float)
            return cls(alpha=complex(re, im), channel=channel, **d)
        except (KeyError, TypeError) as exc:
            raise ValueError(
                f"data is not a BistaticScenario.to_dict() mapping ({type(exc).__name__}: {exc})"
            ) from exc

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


_FIELDS = tuple(f.name for f in dataclasses.fields(BistaticScenario))
_GEOMETRY = tuple(inspect.signature(BistaticScenario.from_geometry).parameters)


def _accept_units(init):
    """The dataclass constructor, taking dBm/degree names too (see the class Notes)."""

    @functools.wraps(init)
    def __init__(self, *args, **kwargs):
        init(self, *args, **to_fields(kwargs, "BistaticScenario()", _FIELDS, _GEOMETRY))

    return __init__


BistaticScenario.__init__ = _accept_units(BistaticScenario.__init__)


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
