import numpy as np
import pytest
from scipy import integrate, stats

from beamopt.beampattern import (
    SensingReceiver,
    ideal_positions,
    isac_tradeoff,
    sector_beam,
    steering_matrix,
)

K = 8


def _qpsk_rayleigh_ser(v, sector_deg, snr):
    """SER of QPSK with known CSI: 2Q(|k|) - Q(|k|)^2 averaged over Rayleigh |k| and the angle."""
    ang = np.deg2rad(np.linspace(*sector_deg, 201))
    gains = snr * np.abs(steering_matrix(ang, ideal_positions(K)).T @ v) ** 2

    def density(g):  # SER given |k|^2 = g, times the exponential density of g, per angle
        q = stats.norm.sf(np.sqrt(g))
        return (2 * q - q**2) * np.exp(-g / gains) / gains

    return integrate.quad_vec(density, 0, np.inf, epsrel=1e-8)[0].mean()


def test_ser_matches_the_rayleigh_closed_form():
    xr, xc = sector_beam((-40.0, -20.0), K), sector_beam((30.0, 50.0), K)
    rx = SensingReceiver.from_positions((-40.0, -20.0), ideal_positions(K), refine=False)
    res = isac_tradeoff(xr, xc, rx, ideal_positions(K), (-40.0, -20.0), rho=[0.0, 0.5],
                        snr_comm_db=0.0, n_samples=20_000, n_threshold=1000, rng=3)  # fmt: skip
    for rho, ser in zip(res.rho, res.ser):
        v = np.sqrt(rho) * xr + np.sqrt(1 - rho) * xc
        ref = _qpsk_rayleigh_ser(v / np.linalg.norm(v), (30.0, 50.0), 1.0)
        assert abs(ser - ref) < 4 * np.sqrt(ref * (1 - ref) / 20_000)


def test_more_radar_weight_means_fewer_misses_and_more_symbol_errors():
    xr, xc = sector_beam((-40.0, -20.0), K), sector_beam((30.0, 50.0), K)
    rx = SensingReceiver.from_positions((-40.0, -20.0), ideal_positions(K))
    res = isac_tradeoff(xr, xc, rx, ideal_positions(K), (-40.0, -20.0), rho=[0.0, 0.3, 1.0],
                        n_samples=3000, n_threshold=2000)  # fmt: skip
    assert res.p_md[0] > res.p_md[1] > res.p_md[2]
    assert res.ser[0] < res.ser[2]
    assert len(res.rows()) == 3


def test_standard_errors_predict_the_spread_over_independent_runs():
    xr, xc = sector_beam((-40.0, -20.0), K), sector_beam((30.0, 50.0), K)
    rx = SensingReceiver.from_positions((-40.0, -20.0), ideal_positions(K))
    kw = dict(rho=[0.3], snr_comm_db=5.0, n_samples=1500, n_threshold=20_000)
    # generators: independent draws, one (seed-0) threshold for every run, since its own
    # error is not part of the standard errors
    runs = [isac_tradeoff(xr, xc, rx, ideal_positions(K), (-40.0, -20.0),
                          rng=np.random.default_rng(seed), **kw) for seed in range(30)]  # fmt: skip
    assert len({r.threshold for r in runs}) == 1
    for name in ("p_md", "ser", "rmse"):
        values = np.array([getattr(r, name)[0] for r in runs])
        se = np.array([getattr(r, name + "_se")[0] for r in runs])
        # the sample sd of 30 runs is within about +-26 % (2 sigma) of the truth
        assert 0.7 < values.std(ddof=1) / se.mean() < 1.35, name
    assert runs[0].n_samples == 1500 and set(runs[0].rows()[0]) >= {"p_md_se", "rmse_deg_se"}


@pytest.mark.parametrize(
    "kw, name",
    [({"qam_order": 8}, "qam_order"), ({"rho": [0.5, 1.2]}, "rho"), ({"energy": 0.0}, "energy"),
     ({"target_sector_deg": (-10.0, -30.0)}, "target_sector_deg"),
     ({"comm_sector_deg": (30.0, 95.0)}, "comm_sector_deg"),
     ({"n_threshold": 500}, "n_threshold=500 at p_fa=0.01 gives 5 expected"),
     ({"target_sector_deg": (-40.0, -20.0)}, r"target_sector_deg=\[-40.0, -20.0\] is not inside"),
     ({"target_sector_deg": (0.0, 0.35)}, "looks like radians")],
)  # fmt: skip
def test_bad_arguments_raise_naming_them(kw, name):
    x = sector_beam((0.0, 20.0), 4)
    rx = SensingReceiver.from_positions((0.0, 20.0), ideal_positions(4))
    args = {"target_sector_deg": (0.0, 20.0), **kw}
    with pytest.raises(ValueError, match=name):
        isac_tradeoff(x, x, rx, ideal_positions(4), n_samples=10, **args)


def test_tradeoff_is_the_same_on_any_executor(dask_executor):
    from concurrent.futures import ThreadPoolExecutor

    xr, xc = sector_beam((-40.0, -20.0), K), sector_beam((30.0, 50.0), K)
    rx = SensingReceiver.from_positions((-40.0, -20.0), ideal_positions(K), n_grid=8)
    args = (xr, xc, rx, ideal_positions(K), (-40.0, -20.0))
    kw = {"rho": [0.0, 0.5, 1.0], "n_samples": 500, "n_threshold": 1000, "rng": 2}
    serial = isac_tradeoff(*args, **kw)
    with ThreadPoolExecutor(max_workers=2) as ex:
        pooled = isac_tradeoff(*args, executor=ex, **kw)
    remote = isac_tradeoff(*args, executor=dask_executor, **kw)
    for other in (pooled, remote):
        for name in ("p_md", "ser", "rmse"):
            np.testing.assert_array_equal(getattr(other, name), getattr(serial, name))
    assert len(repr(serial)) < 300 and "n_rho=3" in repr(serial)


def test_receiver_of_another_size_raises():
    x = sector_beam((0.0, 20.0), 4)
    rx = SensingReceiver.from_positions((0.0, 20.0), ideal_positions(8))
    with pytest.raises(ValueError, match="receiver expects 8 elements but the beams have 4"):
        isac_tradeoff(x, x, rx, ideal_positions(4), (0.0, 20.0), n_samples=10)
