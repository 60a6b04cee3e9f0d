r"""`ChannelConfig`: the scenario, grid, arrays, mobility and SRS pattern of a channel data set.

Time instants: SRS $k = 0, \dots, K-1$ at $t_k = k\,T_{\mathrm{SRS}}$, and the prediction
instant $t_\star = t_{K-1} + \Delta$ after the last one. The user moves at `speed_kmh`, so
the channel ages by the Doppler phase drift of every path between the instants.

The UL SNR sets the observation noise, $\sigma^2 = 10^{-\mathrm{snr\_db}/10}$, relative to the
channel power: by default (`normalization="history"`) each sample is scaled to unit mean power
per entry over its SRS history alone, so the pilots arrive at the stated SNR and the target
keeps its own (aged) power; the target's power never enters the scaling, so the observations
carry no information about it that the channel does not. `snr_db` may be a range `(lo, hi)`:
each sample then draws its UL SNR uniformly in dB (the paper trains over $[-10, 10]$ dB).
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import numpy as np

from .._validation import check_choice, check_int, check_nonnegative, check_positive, check_real
from ..posterior import LinearObservation, hopping_mask

__all__ = ["ChannelConfig"]

NORMALIZATIONS = ("history", "none")


@dataclass(frozen=True)
class ChannelConfig:
    r"""Everything that determines a channel data set (besides its size and seed).

    Parameters
    ----------
    scenario : {"uma", "cdl"}
        3GPP TR 38.901 urban macro (system-level, random drops in one sector) or a clustered
        delay line model.
    cdl_model : {"A", "B", "C", "D", "E"}
        CDL profile (scenario "cdl" only).
    delay_spread : float
        CDL RMS delay spread in seconds, > 0.
    carrier_frequency : float
        Hz, > 0.
    subcarrier_spacing : float
        Hz, > 0.
    n_subcarriers : int
        Subcarriers of the grid (the prediction target is the full band).
    bs_rows, bs_cols : int
        Base-station panel; dual-polarised, so `n_tx = 2 * bs_rows * bs_cols`.
    ut_dual_pol : bool
        Dual-polarised user (`n_rx = 2`) or single vertical element (`n_rx = 1`).
    speed_kmh : float
        User speed in km/h, >= 0 (0: no ageing).
    indoor_probability : float
        Share of indoor users in UMa drops, in [0, 1].
    n_srs : int
        SRS instants $K$ in the history, >= 1.
    srs_period : float
        Seconds between SRS instants, > 0.
    prediction_delay : float
        Seconds from the last SRS to the prediction instant, >= 0.
    band_size : int
        Subcarriers per SRS hop, `1 <= band_size <= n_subcarriers`.
    comb_spacing : int
        SRS comb spacing inside a hop (1 = every subcarrier).
    snr_db : float or (float, float)
        UL pilot SNR in dB (sets the noise variance per observation), or a range `(lo, hi)`,
        `lo <= hi`, from which each sample draws its SNR uniformly in dB.
    normalization : {"history", "none"}
        Per-sample scaling. "history" (default): divide the history and the target by the
        RMS of the history, $\sqrt{\overline{|H_{\mathrm{hist}}|^2}}$ (SRS power control:
        the pilots arrive at `snr_db`). "none": keep sionna's gains (path loss and
        shadowing are off, so this is the large-scale gain of 1 times the antenna patterns;
        mean power per entry about 1.9 for the default UMa panel). Never the target's power.
    """

    scenario: str = "uma"
    cdl_model: str = "C"
    delay_spread: float = 300e-9
    carrier_frequency: float = 3.5e9
    subcarrier_spacing: float = 30e3
    n_subcarriers: int = 24
    bs_rows: int = 1
    bs_cols: int = 2
    ut_dual_pol: bool = True
    speed_kmh: float = 3.0
    indoor_probability: float = 0.0
    n_srs: int = 4
    srs_period: float = 0.04
    prediction_delay: float = 0.02
    band_size: int = 12
    comb_spacing: int = 2
    snr_db: float | tuple[float, float] = 10.0
    normalization: str = "history"

    def __post_init__(self) -> None:
        check_choice(self.scenario, "scenario", ("uma", "cdl"))
        check_choice(self.cdl_model, "cdl_model", ("A", "B", "C", "D", "E"))
        for name in ("delay_spread", "carrier_frequency", "subcarrier_spacing", "srs_period"):
            check_positive(getattr(self, name), name)
        for name in ("n_subcarriers", "bs_rows", "bs_cols", "n_srs", "band_size", "comb_spacing"):
            check_int(getattr(self, name), name)
        if not isinstance(self.ut_dual_pol, bool):
            raise ValueError(f"ut_dual_pol must be a bool; got {self.ut_dual_pol!r}")
        check_nonnegative(self.speed_kmh, "speed_kmh")
        check_nonnegative(self.prediction_delay, "prediction_delay")
        p = check_nonnegative(self.indoor_probability, "indoor_probability")
        if p > 1.0:
            raise ValueError(f"indoor_probability must lie in [0, 1]; got {p}")
        check_choice(self.normalization, "normalization", NORMALIZATIONS)
        if isinstance(self.snr_db, tuple | list):
            if len(self.snr_db) != 2:
                raise ValueError(f"snr_db must be a number or a (lo, hi) range in dB; got "
                                 f"{self.snr_db!r}")  # fmt: skip
            lo, hi = (check_real(v, "snr_db", "dB") for v in self.snr_db)
            if lo > hi:
                raise ValueError(f"snr_db range must have lo <= hi; got {self.snr_db!r}")
            object.__setattr__(self, "snr_db", (lo, hi))
        else:
            object.__setattr__(self, "snr_db", check_real(self.snr_db, "snr_db", "dB"))
        if self.band_size > self.n_subcarriers:
            raise ValueError(
                f"band_size must be <= n_subcarriers={self.n_subcarriers}; got {self.band_size}"
            )
        if self.comb_spacing > self.band_size:
            raise ValueError(
                f"comb_spacing must be <= band_size={self.band_size}; got {self.comb_spacing}"
            )
        self.time_grid()  # the instants must lie on a common grid

    # --- derived quantities -------------------------------------------------------------
    @property
    def n_tx(self) -> int:
        """Base-station antennas (dual-polarised panel)."""
        return 2 * self.bs_rows * self.bs_cols

    @property
    def n_rx(self) -> int:
        """User antennas."""
        return 2 if self.ut_dual_pol else 1

    @property
    def channel_shape(self) -> tuple[int, int, int]:
        """Shape of the prediction target, `(n_subcarriers, n_rx, n_tx)`."""
        return (self.n_subcarriers, self.n_rx, self.n_tx)

    @property
    def history_shape(self) -> tuple[int, int, int, int]:
        """Shape of the history at the SRS instants, `(n_srs, n_subcarriers, n_rx, n_tx)`."""
        return (self.n_srs, *self.channel_shape)

    @property
    def snr_range_db(self) -> tuple[float, float]:
        """`(lo, hi)` of the UL SNR in dB (equal ends for a fixed SNR)."""
        if isinstance(self.snr_db, tuple):
            return self.snr_db
        return (self.snr_db, self.snr_db)

    @property
    def fixed_snr(self) -> bool:
        """Whether every sample has the same UL SNR."""
        lo, hi = self.snr_range_db
        return lo == hi

    @property
    def noise_var(self) -> float:
        r"""Noise variance $\sigma^2 = 10^{-\mathrm{snr\_db}/10}$ of a fixed UL SNR.

        Raises
        ------
        ValueError
            If `snr_db` is a range (the noise variance is per sample: see
            [`ChannelDataset.noise_var`][beamopt.channels.dataset.ChannelDataset.noise_var]).
        """
        if not self.fixed_snr:
            raise ValueError(
                f"snr_db is the range {self.snr_db}: the noise variance is per sample "
                "(ChannelDataset.noise_var); pass snr_db= to observation()"
            )
        return 10.0 ** (-self.snr_range_db[0] / 10.0)

    @property
    def speed(self) -> float:
        """User speed in m/s."""
        return self.speed_kmh / 3.6

    def srs_mask(self) -> np.ndarray:
        """Sounded subcarriers per SRS instant, shape `(n_srs, n_subcarriers)` (comb + hopping)."""
        return hopping_mask(
            self.n_srs, self.n_subcarriers, band_size=self.band_size, spacing=self.comb_spacing
        )

    @property
    def n_pilot_slots(self) -> int:
        """Sounded (instant, subcarrier) slots over the history."""
        return int(self.srs_mask().sum())

    @property
    def obs_shape(self) -> tuple[int, int]:
        """Shape of one observation history, `(n_pilot_slots, n_rx * n_tx)` (one token per slot)."""
        return (self.n_pilot_slots, self.n_rx * self.n_tx)

    def observation(self, snr_db: float | None = None) -> LinearObservation:
        r"""The pilot model $y = A\,\operatorname{vec}(H_{\mathrm{hist}}) + n$ of eq. (22)-(23).

        A selection of the sounded `(n_rx, n_tx)` blocks of the history (pilot matrix $P = I$),
        ordered like `H_hist[mask]`; reshape to
        [`obs_shape`][beamopt.channels.config.ChannelConfig.obs_shape]. `snr_db` overrides the
        config's SNR (required when that is a range).
        """
        if snr_db is None:
            noise_var = self.noise_var
        else:
            noise_var = 10.0 ** (-check_real(snr_db, "snr_db", "dB") / 10.0)
        return LinearObservation.from_mask(self.srs_mask(), self.history_shape, noise_var)

    def times(self) -> np.ndarray:
        r"""The instants $t_0, \dots, t_{K-1}, t_\star$ in seconds, shape `(n_srs + 1,)`."""
        srs = self.srs_period * np.arange(self.n_srs)
        return np.append(srs, srs[-1] + self.prediction_delay)

    def time_grid(self) -> tuple[float, np.ndarray]:
        """Common sampling step `dt` (s) and the integer index of every instant on it."""
        us = [round(self.srs_period * 1e6), round(self.prediction_delay * 1e6)]
        exact = (self.srs_period * 1e6, self.prediction_delay * 1e6)
        if any(abs(u - x) > 1e-6 for u, x in zip(us, exact, strict=True)) or us[0] == 0:
            raise ValueError(
                "srs_period and prediction_delay must be whole microseconds; "
                f"got {self.srs_period}, {self.prediction_delay}"
            )
        step = math.gcd(*us)
        idx = np.append(np.arange(self.n_srs) * (us[0] // step), 0)
        idx[-1] = idx[-2] + us[1] // step
        return step * 1e-6, idx

    def to_dict(self) -> dict:
        """Plain dict of the fields (stored beside cached data as JSON; a range is a list)."""
        out = asdict(self)
        if isinstance(out["snr_db"], tuple):
            out["snr_db"] = list(out["snr_db"])
        return out
