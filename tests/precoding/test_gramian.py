"""Expected-Gramian, CME/SVD precoders and the spectral efficiency."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import beamopt


def _crandn(rng, shape):
    return (rng.standard_normal(shape) + 1j * rng.standard_normal(shape)) / np.sqrt(2)


def _random_stiefel(rng, n_points, n_tx, n_streams):
    Q, _ = np.linalg.qr(_crandn(rng, (n_points, n_tx, n_streams)))
    return Q


def _energy(H, F):
    """Monte Carlo received energy mean_s ||H_s F||_F^2, one value per F."""
    return np.mean(np.sum(np.abs(np.einsum("sij,...jk->...sik", H, F)) ** 2, axis=(-2, -1)), -1)


def _projector(F):
    return F @ np.swapaxes(F.conj(), -1, -2)


def test_expected_gramian_is_the_sample_mean_of_gramians():
    rng = np.random.default_rng(0)
    H = _crandn(rng, (5, 3, 4))
    ref = sum(h.conj().T @ h for h in H) / 5
    np.testing.assert_allclose(beamopt.expected_gramian(H), ref, atol=1e-14)
    H4 = _crandn(rng, (2, 5, 3, 4))
    G4 = beamopt.expected_gramian(np.swapaxes(H4, 0, 1))  # samples first
    for k in range(2):
        np.testing.assert_allclose(G4[k], beamopt.expected_gramian(H4[k]), atol=1e-14)


def test_expected_gramian_objective_is_sum_of_top_eigenvalues_and_unbeaten():
    rng = np.random.default_rng(1)
    H = _crandn(rng, (16, 2, 6)) + 0.5
    res = beamopt.expected_gramian_precoder(H, 2)
    G = sum(h.conj().T @ h for h in H) / len(H)
    top = np.sort(np.linalg.eigvalsh(G))[::-1][:2].sum()
    assert res.objective == pytest.approx(top, rel=1e-12)
    assert _energy(H, res.F) == pytest.approx(top, rel=1e-12)
    np.testing.assert_allclose(res.F.conj().T @ res.F, np.eye(2), atol=1e-12)
    assert res.status == "optimal" and res.success and res.method == "expected_gramian"
    # Ky Fan: no point on the Stiefel manifold collects more energy.
    assert np.all(_energy(H, _random_stiefel(rng, 2000, 6, 2)) <= top * (1 + 1e-12))


def test_expected_gramian_with_one_sample_is_the_svd_precoder():
    rng = np.random.default_rng(2)
    H = _crandn(rng, (3, 5))
    eg = beamopt.expected_gramian_precoder(H[None], 2)
    svd = beamopt.cme_precoder(H, 2)
    _, s, Vh = np.linalg.svd(H)
    V = Vh.conj().T[:, :2]
    np.testing.assert_allclose(_projector(eg.F), _projector(V), atol=1e-10)
    np.testing.assert_allclose(_projector(svd.F), _projector(V), atol=1e-10)
    assert eg.objective == pytest.approx(np.sum(s[:2] ** 2))
    assert svd.objective == pytest.approx(np.sum(s[:2] ** 2))
    assert svd.method == "svd"


def test_perfect_csi_svd_precoder_maximises_spectral_efficiency():
    rng = np.random.default_rng(3)
    H = _crandn(rng, (2, 4))
    F = beamopt.cme_precoder(H, 2).F
    se = beamopt.spectral_efficiency(H[None], F, 10.0)[0]
    # 500 random precoders on the same channel, laid out as 500 "subcarriers".
    others = beamopt.spectral_efficiency(
        np.broadcast_to(H, (1, 500, 2, 4)), _random_stiefel(rng, 500, 4, 2), 10.0
    )
    assert np.all(others.reshape(-1) <= se + 1e-12)


def test_spectral_efficiency_matches_receive_side_determinant():
    rng = np.random.default_rng(4)
    H = _crandn(rng, (3, 7, 2, 4))  # (n_subcarriers, n_samples, n_rx, n_tx)
    F = _random_stiefel(rng, 3, 4, 3)
    snr = 5.0
    se = beamopt.spectral_efficiency(np.swapaxes(H, 0, 1), F, snr).T
    assert se.shape == (3, 7)
    for k in range(3):
        for s in range(7):
            M = np.eye(2) + snr / 3 * H[k, s] @ F[k] @ F[k].conj().T @ H[k, s].conj().T
            assert se[k, s] == pytest.approx(np.log2(np.linalg.det(M).real), rel=1e-12)
    shared = beamopt.spectral_efficiency(np.swapaxes(H, 0, 1), F[0], snr).T
    np.testing.assert_allclose(shared[1], beamopt.spectral_efficiency(H[1], F[0], snr))


def test_per_subcarrier_precoders_equal_independent_runs():
    rng = np.random.default_rng(5)
    H = _crandn(rng, (3, 8, 2, 4))
    res = beamopt.expected_gramian_precoder(np.swapaxes(H, 0, 1), 2)
    assert res.F.shape == (3, 4, 2)
    objectives = []
    for k in range(3):
        single = beamopt.expected_gramian_precoder(H[k], 2)
        np.testing.assert_allclose(_projector(res.F[k]), _projector(single.F), atol=1e-10)
        objectives.append(single.objective)
    assert res.objective == pytest.approx(np.mean(objectives))
    cme = beamopt.cme_precoder(H.mean(axis=1), 2)
    assert cme.F.shape == (3, 4, 2)


def test_gramian_precoder_of_exact_gramian():
    rng = np.random.default_rng(6)
    B = _crandn(rng, (5, 5))
    G = B @ B.conj().T
    res = beamopt.gramian_precoder(G, 3)
    lam, V = np.linalg.eigh(G)
    np.testing.assert_allclose(_projector(res.F), _projector(V[:, -3:]), atol=1e-10)
    assert res.objective == pytest.approx(lam[-3:].sum())


@settings(derandomize=True, max_examples=40, deadline=None)
@given(
    n_tx=st.integers(2, 6),
    n_rx=st.integers(1, 3),
    n_samples=st.integers(1, 6),
    data=st.data(),
)
def test_properties_of_expected_gramian_precoder(n_tx, n_rx, n_samples, data):
    rng = np.random.default_rng(data.draw(st.integers(0, 2**32 - 1)))
    n_streams = data.draw(st.integers(1, min(n_tx, n_rx * n_samples)))
    H = _crandn(rng, (n_samples, n_rx, n_tx))
    res = beamopt.expected_gramian_precoder(H, n_streams)
    np.testing.assert_allclose(res.F.conj().T @ res.F, np.eye(n_streams), atol=1e-10)
    F_rand = _random_stiefel(rng, 20, n_tx, n_streams)
    assert np.all(_energy(H, F_rand) <= res.objective * (1 + 1e-10))
    # SE is invariant to F -> F U and increasing in the SNR.
    U, _ = np.linalg.qr(_crandn(rng, (n_streams, n_streams)))
    se = beamopt.spectral_efficiency(H, res.F, 3.0)
    np.testing.assert_allclose(beamopt.spectral_efficiency(H, res.F @ U, 3.0), se, atol=1e-10)
    assert np.all(beamopt.spectral_efficiency(H, res.F, 6.0) >= se)


def test_n_streams_above_rank_raises():
    rng = np.random.default_rng(7)
    H = _crandn(rng, (1, 2, 5))  # one sample of rank 2
    with pytest.raises(ValueError, match="rank"):
        beamopt.expected_gramian_precoder(H, 3)
    with pytest.raises(ValueError, match="rank"):
        beamopt.cme_precoder(H[0], 3)
    with pytest.raises(ValueError, match=r"rank of H_mean \(0\).*zero on some subcarrier"):
        beamopt.cme_precoder(np.zeros((2, 5)), 1)
    with pytest.raises(ValueError, match="n_streams"):
        beamopt.expected_gramian_precoder(_crandn(rng, (50, 4, 5)), 6)
    with pytest.raises(ValueError, match="n_streams"):
        beamopt.expected_gramian_precoder(_crandn(rng, (5, 2, 5)), 0)
    with pytest.raises(ValueError, match="rank"):
        beamopt.gramian_precoder(np.diag([1.0, 0.0, 0.0]), 2)


def test_bad_shapes_and_values_raise():
    rng = np.random.default_rng(8)
    H = _crandn(rng, (4, 2, 3))
    F = beamopt.expected_gramian_precoder(H, 1).F
    with pytest.raises(ValueError, match="n_samples, n_rx, n_tx"):
        beamopt.expected_gramian_precoder(H[0], 1)
    with pytest.raises(ValueError, match="n_samples, n_rx, n_tx"):
        beamopt.expected_gramian(np.zeros((0, 2, 3)))
    bad = H.copy()
    bad[1, 0, 0] = np.nan
    with pytest.raises(ValueError, match="finite"):
        beamopt.expected_gramian_precoder(bad, 1)
    bad[1, 0, 0] = np.inf
    with pytest.raises(ValueError, match="finite"):
        beamopt.spectral_efficiency(bad, F, 1.0)
    with pytest.raises(ValueError, match="orthonormal"):
        beamopt.spectral_efficiency(H, 2 * F, 1.0)
    with pytest.raises(ValueError, match="F must have shape"):
        beamopt.spectral_efficiency(H, np.eye(4)[:, :1], 1.0)
    with pytest.raises(ValueError, match="per-subcarrier"):
        beamopt.spectral_efficiency(H, np.stack([F, F]), 1.0)
    with pytest.raises(ValueError, match="snr"):
        beamopt.spectral_efficiency(H, F, 0.0)
    with pytest.raises(ValueError, match="H_mean"):
        beamopt.cme_precoder(np.zeros(3), 1)
    with pytest.raises(ValueError, match="Hermitian"):
        beamopt.gramian_precoder(np.triu(np.ones((3, 3))), 1)
    with pytest.raises(ValueError, match="G must have shape"):
        beamopt.gramian_precoder(np.ones((3, 2)), 1)


def test_old_subcarrier_first_order_is_refused_with_the_fix():
    rng = np.random.default_rng(9)
    H = _crandn(rng, (16, 3, 2, 4))  # (n_samples, n_sc, n_rx, n_tx), as samplers return
    F = beamopt.expected_gramian_precoder(H, 2).F
    assert F.shape == (3, 4, 2)
    assert beamopt.spectral_efficiency(H, F, 1.0).shape == (16, 3)
    with pytest.raises(ValueError, match=r"np\.swapaxes\(H, 0, 1\)"):
        beamopt.spectral_efficiency(np.swapaxes(H, 0, 1), F, 1.0)
