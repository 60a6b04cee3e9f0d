import tracemalloc

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from beamopt.beampattern import (
    SensingReceiver,
    detection_threshold,
    ideal_positions,
    impaired_positions,
    isac_tradeoff,
    qam_constellation,
    qam_detect,
    sector_beam,
    steering_matrix,
)
from beamopt.beampattern.array_model import beamwidth

K = 16
SECTOR = (-40.0, -20.0)


def _noise(gen, n, k):
    return (gen.standard_normal((n, k)) + 1j * gen.standard_normal((n, k))) / np.sqrt(2)


def _dense_max(y, positions, sector_deg, points_per_beam=256):
    """Brute force: the largest |a(u)^H y|^2 on a grid 32x finer than the receiver's."""
    p = positions - positions.mean()
    lo, hi = np.sin(np.deg2rad(sector_deg))
    u = np.linspace(lo, hi, int(np.ceil((hi - lo) * points_per_beam / beamwidth(p))) + 1)
    D = np.exp(2j * np.pi * p[:, None] * u[None, :])
    return np.concatenate([np.max(np.abs(b @ D.conj()) ** 2, axis=1) for b in np.split(y, 20)])


def test_threshold_meets_the_false_alarm_rate_on_fresh_noise():
    rx = SensingReceiver.from_positions(SECTOR, ideal_positions(K))
    p_fa = 0.05
    eta = detection_threshold(rx, p_fa, n_trials=8000, rng=1)
    assert detection_threshold(rx, p_fa, n_trials=8000, rng=1) == eta  # cached
    n = _noise(np.random.default_rng(99), 8000, K)  # independent of the threshold's draws
    rate = np.mean(rx.statistic(n)[0] > eta)
    # binomial error of the threshold's quantile plus that of the fresh estimate
    assert abs(rate - p_fa) < 4 * np.sqrt(2 * p_fa * (1 - p_fa) / 8000)


@pytest.mark.parametrize(
    "positions, methods",
    [(ideal_positions(64), ("fft", "czt", "matmul")),
     (impaired_positions(64, rng=3), ("matmul",))],
)  # fmt: skip
def test_statistic_is_within_0p1_percent_of_the_dense_grid_maximum(positions, methods):
    y = _noise(np.random.default_rng(5), 4000, positions.size)
    ref = _dense_max(y, positions, SECTOR)
    for method in methods:
        T, _ = SensingReceiver.from_positions(SECTOR, positions, method=method).statistic(y)
        # >= 99.9 % of the draws within 0.1 % (here: all but at most 2 of 4000)
        assert np.sum(T < (1 - 1e-3) * ref) <= 2, method
        # T is |a(theta)^H y|^2 at one angle (to the accuracy of the Newton model): never
        # above the continuous maximum, which the dense grid misses by < 1e-5 relative
        assert np.all(T <= (1 + 2e-5) * ref), method


def test_fft_czt_and_matrix_product_agree():
    pos = ideal_positions(40)
    y = _noise(np.random.default_rng(2), 500, 40)
    grids = {"fft": None, "czt": 97, "matmul": 97}
    out = {m: SensingReceiver.from_positions(SECTOR, pos, method=m, n_grid=n).statistic(y)
           for m, n in grids.items()}  # fmt: skip
    np.testing.assert_allclose(out["czt"][0], out["matmul"][0], rtol=1e-9)
    np.testing.assert_allclose(out["czt"][1], out["matmul"][1], atol=1e-9)
    # the FFT grid differs; after refinement the statistic is the same continuous maximum
    np.testing.assert_allclose(out["fft"][0], out["matmul"][0], rtol=2e-3)


@pytest.mark.parametrize("positions", [ideal_positions(32), impaired_positions(24, rng=4)])
def test_rmse_at_high_snr_is_within_10_percent_of_the_crb(positions):
    # y = gamma a(theta) + n with unknown complex gamma: the deterministic CRB is
    # 1 / (8 pi^2 |gamma|^2 cos^2(theta) sum_k p_k^2) for centred positions (N0 = 1)
    p = positions - positions.mean()
    rx = SensingReceiver.from_positions(SECTOR, positions)
    gen = np.random.default_rng(8)
    snr, n = 10.0, 4000
    for theta in np.deg2rad([-36.0, -30.3, -23.0]):
        gamma = np.sqrt(snr) * np.exp(2j * np.pi * gen.uniform(size=n))
        y = gamma[:, None] * steering_matrix(theta, p) + _noise(gen, n, p.size)
        _, theta_hat = rx.statistic(y)
        crb = 1.0 / (8 * np.pi**2 * snr * np.cos(theta) ** 2 * np.sum(p**2))
        ratio = np.sqrt(np.mean((theta_hat - theta) ** 2) / crb)
        assert 0.9 < ratio < 1.1, (np.rad2deg(theta), ratio)


def test_grid_only_rmse_at_high_snr_is_the_quantisation_limit():
    n_grid = 21
    rx = SensingReceiver.from_positions(SECTOR, ideal_positions(K), n_grid=n_grid, refine=False)
    x = sector_beam(SECTOR, K)
    res = isac_tradeoff(x, x, rx, ideal_positions(K), SECTOR, rho=[1.0],
                        snr_radar_db=50.0, n_samples=4000, n_threshold=1000)  # fmt: skip
    # nearest grid point in u = sin(theta): error uniform on +-du/2 (half cells at the ends,
    # which hold the endpoints, have the same second moment), so
    # E[(theta_hat - theta)^2] = du^2/12 E[1/cos^2 theta] = du^2/12 (tan b - tan a)/(b - a)
    a, b = np.deg2rad(SECTOR)
    du = (np.sin(b) - np.sin(a)) / (n_grid - 1)
    assert res.p_md[0] == 0.0
    ref = du / np.sqrt(12) * np.sqrt((np.tan(b) - np.tan(a)) / (b - a))
    np.testing.assert_allclose(res.rmse[0], ref, rtol=0.05)


@pytest.mark.parametrize("n_tx", [16, 64, 256, 1024])
def test_grid_has_at_least_4_points_per_3db_beamwidth(n_tx):
    rx = SensingReceiver.from_positions(SECTOR, ideal_positions(n_tx), points_per_beam=4)
    step = np.max(np.diff(np.sin(rx.grid)))
    # the exact half-power width of the ULA beam (Dirichlet kernel), found numerically
    u = np.linspace(1e-9, 4.0 / n_tx, 40_001)
    pattern = (np.sin(np.pi * n_tx * u / 2) / (n_tx * np.sin(np.pi * u / 2))) ** 2
    width = 2 * u[np.argmax(pattern < 0.5)]
    assert step <= width / 4
    assert rx.grid.size >= 4 * (np.sin(np.deg2rad(-20)) - np.sin(np.deg2rad(-40))) / width


def test_threshold_memory_is_bounded_at_1024_elements():
    rx = SensingReceiver.from_positions(SECTOR, ideal_positions(1024))
    tracemalloc.start()
    try:
        detection_threshold(rx, 1e-2, n_trials=1000, rng=np.random.default_rng(0))
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 64e6  # blocks of ~16 MiB (the whole batch would be 16 MB per 1000 trials
    #                     of signals and 130 MB of FFT outputs)


@settings(max_examples=25, deadline=None)
@given(st.integers(2, 24), st.integers(0, 2**31), st.booleans())
def test_statistic_invariances(n_tx, seed, uniform):
    gen = np.random.default_rng(seed)
    pos = ideal_positions(n_tx) if uniform else np.sort(gen.uniform(-n_tx / 3, n_tx / 3, n_tx))
    if np.ptp(pos) < 0.1:
        return
    y = _noise(gen, 20, n_tx)
    T, theta = SensingReceiver.from_positions(SECTOR, pos).statistic(y)
    # Cauchy-Schwarz: |a^H y|^2 <= K ||y||^2; the estimate stays in the sector
    assert np.all(T <= n_tx * np.sum(np.abs(y) ** 2, axis=1) * (1 + 1e-9))
    lo, hi = np.deg2rad(SECTOR)
    assert np.all((theta >= lo - 1e-12) & (theta <= hi + 1e-12))
    # a common shift of the positions and a relabelling of the elements change nothing
    perm = gen.permutation(n_tx)
    T2, theta2 = SensingReceiver.from_positions(SECTOR, pos[perm] + 3.7).statistic(y[:, perm])
    np.testing.assert_allclose(T2, T, rtol=1e-6)
    np.testing.assert_allclose(theta2, theta, atol=1e-6)


@pytest.mark.parametrize("order", [2, 4, 16, 64])
def test_constellation_has_unit_energy_and_noiseless_detection_is_exact(order):
    s = qam_constellation(order)
    assert s.size == order and len(np.unique(np.round(s, 12))) == order
    np.testing.assert_allclose(np.mean(np.abs(s) ** 2), 1.0)
    kappa = 0.3 - 1.2j
    np.testing.assert_array_equal(qam_detect(kappa * s, kappa, s), np.arange(order))


@pytest.mark.parametrize("order", [3, 8, 0, True])
def test_unknown_qam_order_raises(order):
    with pytest.raises(ValueError, match="order"):
        qam_constellation(order)


def test_bad_threshold_arguments_raise():
    rx = SensingReceiver.from_positions((0.0, 10.0), ideal_positions(4))
    with pytest.raises(ValueError, match="p_fa"):
        detection_threshold(rx, 1.5)
    # 1e-5 * 20 000 = 0.2 expected exceedances: the quantile would be noise
    with pytest.raises(ValueError, match=r"n_trials=20000 at p_fa=1e-05 gives 0.2 expected"):
        detection_threshold(rx, 1e-5, n_trials=20_000)


@pytest.mark.parametrize(
    "kwargs, match",
    [({"points_per_beam": 2}, "points_per_beam must be >= 4"),
     ({"n_grid": 2}, "n_grid"),
     ({"method": "nufft"}, "method"),
     ({"positions": impaired_positions(8, rng=1), "method": "fft"}, "uniformly spaced"),
     ({"positions": [0.0]}, "positions"),
     ({"refine": "yes"}, "refine")],
)  # fmt: skip
def test_bad_receiver_arguments_raise(kwargs, match):
    kw = {"positions": ideal_positions(8), **kwargs}
    with pytest.raises(ValueError, match=match):
        SensingReceiver.from_positions(SECTOR, **kw)


def test_signals_of_the_wrong_size_raise():
    rx = SensingReceiver.from_positions(SECTOR, ideal_positions(8))
    with pytest.raises(ValueError, match=r"y must have shape \(\.\.\., 8\)"):
        rx.statistic(np.ones((3, 16)))


def test_repr_shows_the_headline_not_the_arrays():
    text = repr(SensingReceiver.from_positions(SECTOR, ideal_positions(64)))
    assert text.startswith("SensingReceiver(K=64, sector=(-40, -20) deg") and "array" not in text
