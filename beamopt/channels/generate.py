r"""Frequency-domain 3GPP channels at the SRS and prediction instants (sionna, lazily imported).

For every sample sionna draws one channel impulse response $\{(a_m(t), \tau_m)\}$ (a UMa drop
with random position and direction of travel, or a CDL realisation) and evaluates it on the
common time grid of [`ChannelConfig.time_grid`][beamopt.channels.config.ChannelConfig.time_grid];
the path gains rotate with their Doppler shifts $a_m(t) = a_m(0)\, e^{j 2\pi \nu_m t}$, which
is the ageing. The frequency response on subcarrier $f_n$ is

$$
H(t, f_n) = \sum_m a_m(t)\, e^{-j 2\pi f_n \tau_m},
$$

kept at the SRS instants (the history) and at the prediction instant (the target). Each sample
is scaled to unit mean power per entry over its history and target, so path loss and shadowing
do not enter and the UL SNR alone sets the noise.
"""

from __future__ import annotations

import contextlib

import numpy as np

from .._lazy import require
from .._validation import check_int
from .config import ChannelConfig

__all__ = ["generate_channels"]


@contextlib.contextmanager
def _sionna_seed(seed: int):
    """Seed sionna's generators for one batch and restore torch's global state afterwards.

    sionna draws from `sionna.phy.config` generators, which `config.seed = s` resets (it also
    reseeds torch's default generator, which we put back so callers are unaffected).
    """
    import sionna.phy
    import torch

    state = torch.get_rng_state()
    previous = sionna.phy.config.seed
    try:
        sionna.phy.config.seed = int(seed)
        yield
    finally:
        sionna.phy.config.seed = previous
        torch.set_rng_state(state)


def _arrays(config: ChannelConfig):
    from sionna.phy.channel.tr38901 import PanelArray

    fc = config.carrier_frequency
    bs = PanelArray(
        num_rows_per_panel=config.bs_rows,
        num_cols_per_panel=config.bs_cols,
        polarization="dual",
        polarization_type="cross",
        antenna_pattern="38.901",
        carrier_frequency=fc,
        device="cpu",
    )
    ut = PanelArray(
        num_rows_per_panel=1,
        num_cols_per_panel=1,
        polarization="dual" if config.ut_dual_pol else "single",
        polarization_type="cross" if config.ut_dual_pol else "V",
        antenna_pattern="omni",
        carrier_frequency=fc,
        device="cpu",
    )
    return bs, ut


def _impulse_responses(config: ChannelConfig, batch: int, n_time: int, fs: float):
    """sionna CIR: a (batch, 1, n_rx, 1, n_tx, paths, n_time), tau (batch, 1, 1, paths)."""
    from sionna.phy.channel.tr38901 import CDL, UMa

    bs, ut = _arrays(config)
    if config.scenario == "cdl":
        model = CDL(
            config.cdl_model,
            config.delay_spread,
            config.carrier_frequency,
            ut_array=ut,
            bs_array=bs,
            direction="downlink",
            min_speed=config.speed,
            max_speed=config.speed,
            device="cpu",
        )
        return model(batch, n_time, fs)
    from sionna.phy.channel import gen_single_sector_topology

    model = UMa(
        carrier_frequency=config.carrier_frequency,
        o2i_model="low",
        ut_array=ut,
        bs_array=bs,
        direction="downlink",
        enable_pathloss=False,
        enable_shadow_fading=False,
        device="cpu",
    )
    topology = gen_single_sector_topology(
        batch,
        1,
        "uma",
        indoor_probability=config.indoor_probability,
        min_ut_velocity=config.speed,
        max_ut_velocity=config.speed,
        device="cpu",
    )
    model.set_topology(*topology)
    return model(num_time_samples=n_time, sampling_frequency=fs)


def generate_channels(config: ChannelConfig, n_samples: int, *, seed: int = 0):
    r"""Draw channel histories and prediction targets.

    Parameters
    ----------
    config : ChannelConfig
    n_samples : int
        Independent channel realisations, >= 1 (one sionna batch; the dataset builder splits
        larger sets into batches).
    seed : int
        Seeds sionna's generators for this call, >= 0.

    Returns
    -------
    history : ndarray, complex64, shape (n_samples, n_srs, n_subcarriers, n_rx, n_tx)
        $H(t_k)$ at the SRS instants.
    target : ndarray, complex64, shape (n_samples, n_subcarriers, n_rx, n_tx)
        $H(t_\star)$ at the prediction instant.
    """
    if not isinstance(config, ChannelConfig):
        raise ValueError(f"config must be a ChannelConfig; got {type(config).__name__}")
    n_samples = check_int(n_samples, "n_samples")
    seed = check_int(seed, "seed", minimum=0)
    require("torch", "sionna", what="beamopt.generate_channels")
    import torch
    from sionna.phy.channel import cir_to_ofdm_channel, subcarrier_frequencies

    dt, idx = config.time_grid()
    with _sionna_seed(seed), torch.no_grad():
        a, tau = _impulse_responses(config, n_samples, int(idx[-1]) + 1, 1.0 / dt)
        freqs = subcarrier_frequencies(
            config.n_subcarriers, config.subcarrier_spacing, device="cpu"
        )
        h = cir_to_ofdm_channel(freqs, a, tau)  # (B, 1, n_rx, 1, n_tx, n_time, n_sc)
    h = h[:, 0, :, 0].permute(0, 3, 4, 1, 2).numpy()  # (B, n_time, n_sc, n_rx, n_tx)
    h = h[:, idx]
    power = np.mean(np.abs(h) ** 2, axis=(1, 2, 3, 4), keepdims=True)
    h = (h / np.sqrt(np.maximum(power, np.finfo(np.float32).tiny))).astype(np.complex64)
    return np.ascontiguousarray(h[:, :-1]), np.ascontiguousarray(h[:, -1])
