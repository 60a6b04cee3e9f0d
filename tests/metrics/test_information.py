import numpy as np
import pytest

from beamopt.metrics.information import kl_divergence, mutual_information

from ._gauss import gaussian_kl, smoothed_gaussian_score

M1, C1 = np.zeros(2), np.array([[1.0, 0.3], [0.3, 0.5]])
M2, C2 = np.array([1.0, -1.0]), np.array([[2.0, 0.0], [0.0, 1.0]])


def test_exact_scores_reproduce_gaussian_kld_within_reported_error():
    x = np.random.default_rng(0).multivariate_normal(M1, C1, 6000)
    est = kl_divergence(x, smoothed_gaussian_score(M1, C1), smoothed_gaussian_score(M2, C2), seed=1)
    assert abs(est.value - gaussian_kl(M1, C1, M2, C2)) <= 4 * est.stderr
    assert est.n_samples == 6000 and est.stderr > 0


def test_mutual_information_of_gaussian_channel():
    # x ~ N(0, 1), y = x + N(0, s2): I = 0.5 log(1 + 1/s2); posterior N(y/(1+s2), s2/(1+s2))
    rng = np.random.default_rng(2)
    s2 = 0.5
    x = rng.standard_normal((6000, 1))
    y = x + np.sqrt(s2) * rng.standard_normal((6000, 1))
    pv = s2 / (1 + s2)

    def cond(xt, sig, yy):
        return -(xt - yy / (1 + s2)) / (pv + sig[:, None] ** 2)

    est = mutual_information(x, y, smoothed_gaussian_score([0.0], [[1.0]]), cond, seed=3)
    assert abs(est.value - 0.5 * np.log(1 + 1 / s2)) <= 4 * est.stderr


def test_bad_inputs():
    s = smoothed_gaussian_score(M1, C1)
    with pytest.raises(ValueError, match="samples"):
        kl_divergence(np.full((3, 2), np.inf), s, s)
    with pytest.raises(ValueError, match="sigma_min"):
        kl_divergence(np.ones((3, 2)), s, s, sigma_min=-1.0)
    with pytest.raises(ValueError, match="score_q"):
        kl_divergence(np.ones((3, 2)), s, lambda x, sg: x[:, :1])
