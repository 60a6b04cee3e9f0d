import numpy as np
import pytest
from scipy.stats import norm

from beamopt.metrics.nearfield import (
    NearFieldArray,
    detection_probability,
    swerling_kld_per_snapshot,
)


def test_jacobian_matches_finite_differences():
    arr = NearFieldArray(n_antennas=16)
    x = arr.beam([20.0, 20.0], 0.1)
    r = np.array([[19.0, 21.0]])
    F = arr.echo_jacobian(r, x, gamma=[1.3])
    e = 1e-6
    for i, dr in enumerate(np.eye(2) * e):
        num = (arr.channel(r + dr, 1.3)[0] @ x - arr.channel(r - dr, 1.3)[0] @ x) / (2 * e)
        np.testing.assert_allclose(F[0, :, i], num, rtol=1e-5, atol=1e-12 * np.abs(num).max())
    np.testing.assert_allclose(F[0, :, 2], arr.channel(r, 1.0)[0] @ x, rtol=1e-12)


def test_beam_is_dominant_right_singular_vector():
    arr = NearFieldArray(n_antennas=8)
    H = arr.channel([20.0, 20.0])
    v = np.linalg.svd(H)[2][0].conj()
    b = arr.beam([20.0, 20.0], 1.0)
    assert abs(abs(np.vdot(v, b)) - 1.0) < 1e-10


def test_detection_probability_and_swerling_kld():
    assert detection_probability(0.0, 0.1) == pytest.approx(0.1)
    d = 2.0  # matched filter: deflection sqrt(2 D)
    assert detection_probability(d, 0.1) == pytest.approx(norm.sf(norm.isf(0.1) - 2.0))
    rng = np.random.default_rng(0)
    u = rng.standard_normal(2000)
    g = np.linspace(0, 25, 5001)
    q = np.trapezoid(np.exp(-g)[None] * norm.pdf(u[:, None] - g[None]), g, axis=1)
    mc = np.mean(norm.logpdf(u) - np.log(q))
    se = np.std(norm.logpdf(u) - np.log(q)) / np.sqrt(u.size)
    assert abs(swerling_kld_per_snapshot(1.0) - mc) < 4 * se


def test_bad_inputs():
    with pytest.raises(ValueError, match="n_antennas"):
        NearFieldArray(n_antennas=1)
    with pytest.raises(ValueError, match="positions"):
        NearFieldArray().response([1.0, 2.0, 3.0])
    with pytest.raises(ValueError, match="kld"):
        detection_probability(-1.0)


def _mixture_pdf(u, rho):
    g = np.linspace(0, 40 / max(rho, 1.0) + 10, 4001)
    return np.trapezoid(np.exp(-g)[None] * norm.pdf(u[:, None] - rho * g[None]), g, axis=1)


@pytest.mark.parametrize("rho", [0.5, 1.5, 3.0])
def test_swerling_kld_both_directions_match_numerical_integration(rho):
    from beamopt.metrics.nearfield import swerling_kld

    u = np.linspace(-10, 10 + 25 * rho, 3001)
    p0, p1 = norm.pdf(u), _mixture_pdf(u, rho)
    with np.errstate(divide="ignore", invalid="ignore"):
        log_ratio = norm.logpdf(u) - np.log(p1)
    d01 = np.trapezoid(np.where(p0 > 1e-250, p0 * log_ratio, 0.0), u)
    d10 = np.trapezoid(np.where(p1 > 1e-250, -p1 * log_ratio, 0.0), u)
    assert swerling_kld(rho) == pytest.approx(d01, rel=1e-3)
    assert swerling_kld(rho, direction="h1||h0") == pytest.approx(d10, rel=2e-3)
    # K snapshots: independent gamma adds K KLDs; one shared gamma has rho sqrt(K)
    assert swerling_kld(rho, 4) == pytest.approx(4 * d01, rel=1e-3)
    assert swerling_kld(rho, 4, rcs="shared") == pytest.approx(swerling_kld(2 * rho), rel=1e-12)
    # Fig. 6 of the paper draws the Swerling KLD above gamma = 1; the integral says below
    assert d01 < rho**2 / 2
    with pytest.raises(ValueError, match="direction"):
        swerling_kld(rho, direction="both")
