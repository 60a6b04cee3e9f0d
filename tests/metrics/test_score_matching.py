from dataclasses import replace

import numpy as np
import pytest

pytest.importorskip("torch")

from beamopt.metrics.fim import bayesian_fim, bcrb, expected_fim, fisher_from_scores
from beamopt.metrics.information import kl_divergence
from beamopt.metrics.score_matching import (
    DEFAULT_CONFIG,
    ParameterScore,
    train_fisher_score,
    train_parameter_score,
)

C = np.array([[2.0, 1.2], [1.2, 1.0]])  # correlated: the white-Gaussian start is far off
A = np.array([[1.0, 0.5], [0.0, 1.0], [0.4, -0.3]])
S2 = 0.5


@pytest.fixture(scope="module")
def theta():
    return np.random.default_rng(0).multivariate_normal([20.0, 20.0], C, 4000)


def test_learned_ism_prior_gives_bcrb_within_5_percent(theta, tmp_path):
    cfg = replace(DEFAULT_CONFIG, n_iterations=500)
    model = train_parameter_score(
        theta, objective="ism", config=cfg, seed=0, checkpoint=tmp_path / "ck.pt"
    )
    Jd = expected_fim(np.repeat((A.T @ A / S2)[None], len(theta), axis=0))
    learned = bcrb(bayesian_fim(fisher_from_scores(model.score(theta)), Jd)).trace
    exact = np.trace(np.linalg.inv(np.linalg.inv(C) + A.T @ A / S2))
    white = bcrb(bayesian_fim(fisher_from_scores(-(theta - theta.mean(0)) / theta.var()), Jd))
    assert abs(learned - exact) < 0.05 * exact
    assert abs(white.trace - exact) > 0.05 * exact  # the untrained start would fail
    again = ParameterScore.load(tmp_path / "ck.pt")
    np.testing.assert_allclose(again.score(theta[:5]), model.score(theta[:5]), rtol=1e-6)


def _kld_ensemble(data_seed, n_seeds, n_iterations):
    rng = np.random.default_rng(data_seed)
    rho = 1.5
    cond = np.repeat([0.0, rho], 3000)
    u = cond + rng.standard_normal(cond.size)
    cfg = replace(DEFAULT_CONFIG, n_iterations=n_iterations, width=32, batch_size=512)
    ens = train_parameter_score(
        u, conditions=cond, objective="dsm", config=cfg, seed=10 * data_seed, n_seeds=n_seeds
    )
    est = kl_divergence(
        rng.standard_normal(20000),
        lambda x, s: ens.smoothed_score(x, s, [[0.0]]),
        lambda x, s: ens.smoothed_score(x, s, [[rho]]),
        sigma_min=1e-2,
        sigma_max=1e2,
        n_levels=2,
        seed=2,
    )
    return est, rho**2 / 2


def test_learned_dsm_kld_reports_its_training_spread():
    # two members on a short budget: the estimate carries both error parts, the seed part is
    # measured (not assumed), and the exact D = rho^2 / 2 lies within the (wide, 1 dof) 99 %
    # interval; the tight accuracy claim is the slow test below
    est, exact = _kld_ensemble(1, 2, 400)
    assert est.n_seeds == 2 and est.member_values.shape == (2,)
    assert est.seed_std > 0 and est.stderr > est.mc_stderr
    assert est.stderr == pytest.approx(np.hypot(est.mc_stderr, est.seed_std / np.sqrt(2)))
    lo, hi = est.interval(0.99)
    assert lo <= exact <= hi
    assert "2 seeds" in repr(est)


@pytest.mark.slow
@pytest.mark.parametrize("data_seed", [1, 2, 3])
def test_learned_dsm_kld_within_15_percent_with_its_interval(data_seed):
    # measured (3 seeds x 1500 iterations, 6000 samples): members 0.85-0.99 of the exact
    # KLD, the ensemble 0.89-0.96 (DSM at this budget is biased low: the KLD is first order
    # in the error of s_q); the 99 % interval, which includes the seed spread, covers it
    est, exact = _kld_ensemble(data_seed, 3, 1500)
    assert abs(est.value - exact) < 0.15 * exact
    lo, hi = est.interval(0.99)
    assert lo <= exact <= hi


def test_fisher_score_matching_learns_linear_gaussian_measurement_score():
    rng = np.random.default_rng(3)
    th = rng.standard_normal((3000, 1))
    y = 2.0 * th + np.sqrt(S2) * rng.standard_normal((3000, 1))
    cfg = replace(DEFAULT_CONFIG, n_iterations=1000, width=32, batch_size=512)
    m = train_fisher_score(th, y, -th, config=cfg, seed=0)
    Jd = fisher_from_scores(m.score(th, condition=y)).matrix[0, 0]
    # FSM is the least sample-efficient objective; the budget here gives ~20 % (see docs)
    assert abs(Jd - 4.0 / S2) < 0.25 * 4.0 / S2


TINY = replace(DEFAULT_CONFIG, n_iterations=60, width=16, eval_every=20)


def test_score_jacobian_matches_finite_differences_of_the_score():
    rng = np.random.default_rng(4)
    th = np.column_stack([rng.standard_normal(300), rng.exponential(1.0, 300) + 0.1])
    m = train_parameter_score(th, config=TINY, positive=[1], seed=1)
    pts = th[:5].astype(float)
    jac = m.score_jacobian(pts)
    for j in range(2):  # float32 network: a step well above its rounding, below curvature
        d = np.zeros(2)
        d[j] = 2e-3
        num = (m.score(pts + d) - m.score(pts - d)) / (2 * d[j])
        np.testing.assert_allclose(jac[:, :, j], num, rtol=1e-2, atol=1e-3 * np.abs(jac).max())


def test_ensemble_members_hold_out_disjoint_folds_and_round_trip(tmp_path):
    from beamopt.metrics import ScoreEnsemble

    rng = np.random.default_rng(5)
    th = rng.standard_normal((200, 2))
    ens = train_parameter_score(th, config=TINY, seed=3, n_seeds=3, checkpoint=tmp_path / "e")
    assert isinstance(ens, ScoreEnsemble) and ens.seeds == (3, 4, 5)
    rows = np.concatenate(ens.held_out_rows)
    assert rows.size == 200 and np.unique(rows).size == 200  # disjoint folds cover the rows
    assert all(h is not None and h.n_iterations > 0 for h in ens.histories)
    assert ens.is_training_data(th) and not ens.is_training_data(th[:-1])
    assert ens.score(th[:4]).shape == (3, 4, 2)
    # members differ (independent seeds); the first equals a single model of the same seed/fold
    assert not np.allclose(ens[0].score(th[:4]), ens[1].score(th[:4]))
    again = ScoreEnsemble.load(tmp_path / "e")
    np.testing.assert_allclose(again.score(th[:4]), ens.score(th[:4]), rtol=1e-6)
    np.testing.assert_array_equal(again.held_out_rows[2], ens.held_out_rows[2])
    assert "3 x ism" in repr(ens)
    from concurrent.futures import ThreadPoolExecutor

    serial = train_parameter_score(th, config=TINY, seed=3, n_seeds=2)
    with ThreadPoolExecutor(1) as pool:  # the same members on an executor
        par = train_parameter_score(th, config=TINY, seed=3, n_seeds=2, executor=pool)
    np.testing.assert_allclose(par.score(th[:4]), serial.score(th[:4]), rtol=1e-6)
    with pytest.raises(ValueError, match="executor"):
        train_parameter_score(th, config=TINY, n_seeds=2, executor="pool")


def test_seed_may_be_a_generator_and_is_reproducible():
    th = np.random.default_rng(6).standard_normal((100, 1))
    a = train_parameter_score(th, config=TINY, seed=np.random.default_rng(9))
    b = train_parameter_score(th, config=TINY, seed=np.random.default_rng(9))
    np.testing.assert_array_equal(a.score(th[:3]), b.score(th[:3]))
    with pytest.raises(ValueError, match="seed"):
        train_parameter_score(th, config=TINY, seed=1.5)


def test_classifier_free_model_gives_marginal_and_conditional_scores():
    # x ~ N(0, 1), c = x + N(0, 1): conditional N(c / 2, 1 / 2), marginal N(0, 1)
    rng = np.random.default_rng(7)
    x = rng.standard_normal((4000, 1))
    c = x + rng.standard_normal((4000, 1))
    cfg = replace(DEFAULT_CONFIG, n_iterations=600, width=32, batch_size=512)
    m = train_parameter_score(x, conditions=c, classifier_free=True, config=cfg, seed=0)
    assert m.classifier_free and m.cond_dim == 1
    pts = np.linspace(-1.5, 1.5, 7)[:, None]
    marg, cond = m.score(pts), m.score(pts, np.full((7, 1), 1.0))
    err_marg = np.abs(marg + pts).max()
    err_cond = np.abs(cond + (pts - 0.5) / 0.5).max()
    assert err_marg < 0.35 and err_cond < 0.7
    # the NULL token changes the answer: the marginal is not the conditional at c = 0
    assert np.abs(marg - m.score(pts, np.zeros((7, 1)))).max() > 0.3
    with pytest.raises(ValueError, match="classifier_free"):
        train_parameter_score(x, classifier_free=True, config=TINY)


def test_bad_inputs(theta):
    with pytest.raises(ValueError, match="samples"):
        train_parameter_score(np.array([[1.0, np.nan]]))
    with pytest.raises(ValueError, match="at least 16 training rows"):
        train_parameter_score(np.ones((3, 2)) + np.arange(3)[:, None])
    with pytest.raises(ValueError, match="n_seeds"):
        train_parameter_score(theta, n_seeds=0)
    with pytest.raises(ValueError, match="objective"):
        train_parameter_score(theta, objective="esm")
    with pytest.raises(ValueError, match="prior_scores"):
        train_fisher_score(theta, theta, np.zeros((3, 2)))


# --- slow checks of the learned metrics against independent references ---------------------

GMM_W = np.array([0.5, 0.5])
GMM_MEANS = np.array([[-1.5, 0.0], [1.5, 0.5]])
GMM_COVS = np.array([[[0.5, 0.2], [0.2, 0.4]], [[0.3, -0.1], [-0.1, 0.6]]])


def _gmm_sample(n, rng):
    k = rng.choice(2, n, p=GMM_W)
    L = np.linalg.cholesky(GMM_COVS)
    return GMM_MEANS[k] + np.einsum("nij,nj->ni", L[k], rng.standard_normal((n, 2)))


def _gmm_score(x):
    inv = np.linalg.inv(GMM_COVS)
    d = x[:, None, :] - GMM_MEANS[None]
    q = np.einsum("nki,kij,nkj->nk", d, inv, d)
    logw = np.log(GMM_W) - 0.5 * np.log(np.linalg.det(GMM_COVS)) - 0.5 * q
    r = np.exp(logw - logw.max(axis=1, keepdims=True))
    r /= r.sum(axis=1, keepdims=True)
    return np.einsum("nk,nki->ni", r, -np.einsum("kij,nkj->nki", inv, d))


@pytest.mark.slow
def test_learned_bcrb_of_a_mixture_prior_within_5_percent_of_the_exact_score():
    # prior-dominated: data information a third of the prior's; reference from the exact
    # mixture score over 4e5 draws (its own error ~0.2 %); benchmarks/bench_learned_bcrb.py
    # repeats this over data sets (6 repeats: bias +0.6 % to +1.1 %, coverage 100 %)
    from beamopt.metrics.fim import score_fim

    s = _gmm_score(_gmm_sample(400_000, np.random.default_rng(123)))
    Jp = s.T @ s / len(s)
    A = np.array([[1.0, 0.3], [0.2, 0.6]])
    Jd = A.T @ A / (3.0 * np.trace(A.T @ A) / np.trace(Jp))
    exact = np.trace(np.linalg.inv(Jp + Jd))
    theta = _gmm_sample(4000, np.random.default_rng(7))
    ens = train_parameter_score(theta, config=replace(DEFAULT_CONFIG, lr=2e-4), n_seeds=5)
    data = expected_fim(np.repeat(Jd[None], len(theta), axis=0))
    b = bcrb(bayesian_fim(score_fim(ens, theta), data))
    assert abs(b.trace - exact) < 0.05 * exact
    lo, hi = b.interval(0.95)
    assert lo <= exact <= hi
    assert b.n_seeds == 5 and b.trace_seed_std > 0


@pytest.mark.slow
def test_mutual_information_from_one_classifier_free_network_within_5_percent():
    from beamopt.metrics.information import mutual_information

    s2 = 0.5
    exact = 0.5 * np.log(1 + 1 / s2)
    rng = np.random.default_rng(0)
    x = rng.standard_normal((6000, 1))
    y = x + np.sqrt(s2) * rng.standard_normal((6000, 1))
    cfg = replace(DEFAULT_CONFIG, n_iterations=1500, width=32, batch_size=512)
    ens = train_parameter_score(
        x, conditions=y, objective="dsm", classifier_free=True, config=cfg, n_seeds=5
    )
    xe = rng.standard_normal((20000, 1))
    ye = xe + np.sqrt(s2) * rng.standard_normal((20000, 1))
    est = mutual_information(
        xe, ye, lambda a, s: ens.smoothed_score(a, s), ens.smoothed_score, n_levels=2, seed=1
    )
    assert est.n_seeds == 5
    # the exact smoothed scores on the same draws and noise isolate the learned error
    pv = s2 / (1 + s2)
    ref = mutual_information(
        xe,
        ye,
        lambda a, s: -a / (1 + s[:, None] ** 2),
        lambda a, s, c: -(a - c / (1 + s2)) / (pv + s[:, None] ** 2),
        sigma_min=est.sigma_min,
        sigma_max=est.sigma_max,
        n_levels=2,
        seed=1,
    )
    assert abs(est.value - ref.value) < 0.03 * exact
    assert abs(est.value - exact) < 0.05 * exact
