import numpy as np
import pytest

from beamopt.beampattern import (
    SensingReceiver,
    detection_threshold,
    ideal_positions,
    isac_tradeoff,
    qam_constellation,
    qam_detect,
    sector_beam,
)

K = 16


def test_threshold_meets_the_false_alarm_rate_on_fresh_noise():
    rx = SensingReceiver.from_positions((-40.0, -20.0), ideal_positions(K), n_grid=16, n_refine=3)
    p_fa = 0.05
    eta = detection_threshold(rx, p_fa, n_trials=8000, rng=1)
    assert detection_threshold(rx, p_fa, n_trials=8000, rng=1) == eta  # cached
    gen = np.random.default_rng(99)  # fresh noise, independent of the threshold's draws
    n = (gen.standard_normal((8000, K)) + 1j * gen.standard_normal((8000, K))) / np.sqrt(2)
    rate = np.mean(rx.statistic(n)[0] > eta)
    # binomial error of the threshold's quantile plus that of the fresh estimate
    assert abs(rate - p_fa) < 4 * np.sqrt(2 * p_fa * (1 - p_fa) / 8000)


def test_grid_only_rmse_at_high_snr_is_the_quantisation_limit():
    sector, n_grid = (-40.0, -20.0), 21  # 1 degree steps
    rx = SensingReceiver.from_positions(sector, ideal_positions(K), n_grid=n_grid, n_refine=0)
    x = sector_beam(sector, K)
    res = isac_tradeoff(x, x, rx, ideal_positions(K), sector, rho=[1.0],
                        snr_radar_db=50.0, n_samples=4000, n_threshold=500)  # fmt: skip
    # nearest-grid-point error is uniform on [-step/2, step/2] except half-cells at the edges
    step = np.deg2rad(1.0)
    assert res.p_md[0] == 0.0
    np.testing.assert_allclose(res.rmse[0], step / np.sqrt(12), rtol=0.08)


def test_refinement_beats_the_grid():
    sector = (-40.0, -20.0)
    coarse = SensingReceiver.from_positions(sector, ideal_positions(K), n_grid=21, n_refine=0)
    fine = SensingReceiver.from_positions(sector, ideal_positions(K), n_grid=21, n_refine=8)
    x = sector_beam(sector, K)
    kw = dict(rho=[1.0], snr_radar_db=50.0, n_samples=2000, n_threshold=500)
    r0 = isac_tradeoff(x, x, coarse, ideal_positions(K), sector, **kw)
    r1 = isac_tradeoff(x, x, fine, ideal_positions(K), sector, **kw)
    assert r1.rmse[0] < 0.2 * r0.rmse[0]


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


def test_bad_p_fa_raises():
    rx = SensingReceiver.from_positions((0.0, 10.0), ideal_positions(4), n_grid=4)
    with pytest.raises(ValueError, match="p_fa"):
        detection_threshold(rx, 1.5)
