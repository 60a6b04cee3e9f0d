import numpy as np
import pytest

import beamopt
from beamopt import BistaticScenario


def _reference_sinr(H, Ws, Rs, s2c):
    """Per-user SINR written out user by user."""
    out = []
    for k, h in enumerate(H):
        sig = (h.conj() @ Ws[k] @ h).real
        intf = sum((h.conj() @ Ws[j] @ h).real for j in range(len(Ws)) if j != k)
        out.append(sig / (intf + (h.conj() @ Rs @ h).real + s2c))
    return np.array(out)


def _psd(rng, n):
    X = rng.standard_normal((n, n)) + 1j * rng.standard_normal((n, n))
    return X @ X.conj().T / n


def test_multiuser_sinr_and_rate(rng):
    sc = BistaticScenario.default(n_tx=5, n_rx=4, user_angle_deg=[-30.0, 10.0, 50.0])
    Ws = np.stack([_psd(rng, 5) * 0.1 for _ in range(3)])
    Rs = _psd(rng, 5) * 0.05
    ref = _reference_sinr(sc.channels, Ws, Rs, sc.comm_noise_power)
    np.testing.assert_allclose(beamopt.communication_sinr(sc, Ws, Rs), ref, rtol=1e-12)
    np.testing.assert_allclose(beamopt.communication_rate(sc, Ws, Rs), np.log2(1 + ref), rtol=1e-12)


def test_single_user_snr_and_batch(rng):
    sc = BistaticScenario.default(n_tx=4, n_rx=4)
    W = _psd(rng, 4)
    h = sc.channel
    snr = (h.conj() @ W @ h).real / sc.comm_noise_power
    assert np.isclose(beamopt.communication_sinr(sc, W), snr)
    batch = beamopt.communication_sinr(sc, np.stack([W, 2 * W]))
    np.testing.assert_allclose(batch, [snr, 2 * snr])


def test_multiuser_requires_per_user_covariances():
    sc = BistaticScenario.default(n_tx=4, n_rx=4, user_angle_deg=[0.0, 20.0])
    with pytest.raises(ValueError, match=r"W must have shape \(\.\.\., 2, 4, 4\)"):
        beamopt.communication_sinr(sc, np.eye(4))
