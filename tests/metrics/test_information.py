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


def test_ensemble_of_scores_reports_seed_spread_and_covers_the_exact_kld():
    # "trained" members: exact smoothed scores of N(M2, C2) with a random mean error each
    # (a training error of known size); the interval must cover the exact KLD at ~95 %
    rng = np.random.default_rng(11)
    exact = gaussian_kl(M1, C1, M2, C2)
    hits, n_rep, K = 0, 60, 5
    for _ in range(n_rep):
        members = [smoothed_gaussian_score(M2 + rng.normal(0, 0.05, 2), C2) for _ in range(K)]

        def ens(x, s, members=members):
            return np.stack([m(x, s) for m in members])

        x = rng.multivariate_normal(M1, C1, 2000)
        est = kl_divergence(x, smoothed_gaussian_score(M1, C1), ens, seed=rng)
        lo, hi = est.interval(0.95)
        hits += lo <= exact <= hi
    assert est.n_seeds == K and est.seed_std > 0
    assert est.stderr == pytest.approx(np.hypot(est.mc_stderr, est.seed_std / np.sqrt(K)))
    assert np.isfinite(est.dof) and est.dof > K - 1
    assert 0.85 <= hits / n_rep <= 1.0


def test_parameter_score_models_are_refused_without_a_smoothed_score():
    pytest.importorskip("torch")
    from dataclasses import replace

    from beamopt.metrics.score_matching import DEFAULT_CONFIG, train_parameter_score

    x = np.random.default_rng(0).standard_normal((64, 1))
    ism = train_parameter_score(x, config=replace(DEFAULT_CONFIG, n_iterations=5, width=8))
    s = smoothed_gaussian_score([0.0], [[1.0]])
    with pytest.raises(ValueError, match="smoothed score"):
        kl_divergence(x, s, ism.score)
    with pytest.raises(ValueError, match="dsm"):
        kl_divergence(x, s, ism)


def test_exact_kld_intervals_cover_at_the_nominal_rate():
    # the stratified noise levels keep the draws' means independent, so the reported
    # standard error stays honest: 95 % intervals over 80 independent data sets
    rng = np.random.default_rng(21)
    exact = gaussian_kl(M1, C1, M2, C2)
    p, q = smoothed_gaussian_score(M1, C1), smoothed_gaussian_score(M2, C2)
    hits = 0
    for _ in range(80):
        est = kl_divergence(rng.multivariate_normal(M1, C1, 400), p, q, n_levels=4, seed=rng)
        lo, hi = est.interval(0.95)
        hits += lo <= exact <= hi
    assert 0.88 <= hits / 80 <= 1.0


class _Ranged:
    """A score object with a trained noise range (stands in for a DSM model)."""

    def __init__(self, score, lo, hi):
        self.sigma_range, self._score = (lo, hi), score

    def smoothed_score(self, x, s, *c):
        return self._score(x, s)


def test_the_default_range_of_a_learned_score_is_its_trained_range():
    x = np.random.default_rng(0).multivariate_normal(M1, C1, 500)
    p = _Ranged(smoothed_gaussian_score(M1, C1), 0.02, 20.0)
    q = smoothed_gaussian_score(M2, C2)
    est = kl_divergence(x, p.smoothed_score, q, seed=0)
    assert (est.sigma_min, est.sigma_max) == (0.02, 20.0)
    with pytest.warns(UserWarning, match=r"beyond the levels it was trained on \[0.02, 20\]"):
        kl_divergence(x, p.smoothed_score, q, sigma_max=1e3, seed=0)
    # mutual_information sees the marginal's range through its wrapper
    y = x[:, :1] + np.random.default_rng(1).standard_normal((500, 1))
    marg = _Ranged(smoothed_gaussian_score(M1, C1), 0.05, 10.0)
    est = mutual_information(x, y, marg.smoothed_score, lambda a, s, c: q(a, s), seed=0)
    assert (est.sigma_min, est.sigma_max) == (0.05, 10.0)


def test_a_dsm_model_reports_its_trained_range_in_data_units():
    pytest.importorskip("torch")
    from dataclasses import replace

    from beamopt.metrics.score_matching import DEFAULT_CONFIG, train_parameter_score

    x = 3.0 * np.random.default_rng(0).standard_normal((64, 1))
    cfg = replace(DEFAULT_CONFIG, n_iterations=5, width=8)
    m = train_parameter_score(x, objective="dsm", config=cfg, n_seeds=2)
    lo, hi = m.sigma_range
    scales = np.array([k.scale for k in m.members])  # each member's training-row spread
    assert np.all((scales > 2.0) & (scales < 4.0))
    # the ensemble's range is the levels every member saw
    assert lo == pytest.approx(cfg.sigma_min * scales.max())
    assert hi == pytest.approx(cfg.sigma_max * scales.min())
    assert train_parameter_score(x, config=cfg).sigma_range is None  # ISM: no noise levels
