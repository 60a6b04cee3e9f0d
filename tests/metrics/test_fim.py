import numpy as np
import pytest

from beamopt.metrics.fim import (
    FIM_METHODS,
    bayesian_fim,
    bcrb,
    expected_fim,
    fisher_from_scores,
    gaussian_fim,
    score_fim,
)

C = np.array([[2.0, 0.6, 0.2], [0.6, 1.0, 0.1], [0.2, 0.1, 0.5]])
A = np.array([[1.0, 0.5, 0.0], [0.0, 1.0, 2.0], [0.3, 0.0, 1.0], [1.0, 1.0, 1.0]])
S2 = 0.7


def _draws(M, seed=0):
    rng = np.random.default_rng(seed)
    return rng.multivariate_normal(np.zeros(3), C, M), rng


def test_exact_scores_reproduce_analytic_bcrb_within_reported_error():
    theta, rng = _draws(20000)
    prior = fisher_from_scores(-np.linalg.solve(C, theta.T).T)
    # Fisher scores of y = A theta + N(0, S2 I): A^T (y - A theta) / S2, L = 2 per draw
    y = theta @ A.T + np.sqrt(S2) * rng.standard_normal((2, *theta.shape[:1], 4))
    fs = np.moveaxis((y - theta @ A.T) @ A / S2, 0, 1)
    Jb = bayesian_fim(prior, fisher_from_scores(fs))
    analytic = np.linalg.inv(C) + A.T @ A / S2
    assert np.all(np.abs(Jb.matrix - analytic) <= 4 * Jb.stderr)
    b = bcrb(Jb, keep=[0, 1])
    exact = np.trace(np.linalg.inv(analytic)[:2, :2])
    assert abs(b.trace - exact) <= 4 * b.trace_stderr
    assert b.fim.n_samples == 20000 and b.fim.n_measurements == 2


def test_schur_complement_equals_block_of_inverse():
    J = np.array([[3.0, 1.0, 0.5], [1.0, 2.0, 0.3], [0.5, 0.3, 1.0]])
    est = expected_fim(np.repeat(J[None], 3, axis=0))
    Jkk, Jkn, Jnn = J[:2, :2], J[:2, 2:], J[2:, 2:]
    schur = np.linalg.inv(Jkk - Jkn @ np.linalg.inv(Jnn) @ Jkn.T)
    np.testing.assert_allclose(bcrb(est, keep=[0, 1]).matrix, schur, rtol=1e-12)


def test_gaussian_fim_matches_numerical_fisher():
    rng = np.random.default_rng(3)
    F = rng.standard_normal((5, 2)) + 1j * rng.standard_normal((5, 2))
    # complex Gaussian: FIM = 2 K / s2 Re(F^H F); check via real embedding
    Fr = np.vstack([F.real, F.imag])
    np.testing.assert_allclose(gaussian_fim(F, 0.5, 3), 3 * Fr.T @ Fr / (0.5 / 2))


@pytest.mark.parametrize(
    ("call", "name"),
    [
        (lambda: fisher_from_scores(np.ones((3, 2, 2, 2))), "scores"),
        (lambda: fisher_from_scores([[1.0, np.nan]]), "scores"),
        (lambda: expected_fim(np.ones((3, 2, 3))), "fims"),
        (lambda: gaussian_fim(np.ones((4, 2)), 0.0), "noise_var"),
        (lambda: bcrb(expected_fim(np.eye(2)[None]), keep=[5]), "keep"),
        (lambda: bcrb(np.eye(2)), "fim"),
    ],
)
def test_bad_inputs_name_the_argument(call, name):
    with pytest.raises(ValueError, match=name):
        call()


def test_trace_stderr_of_independent_prior_and_data_matches_the_spread_over_repeats():
    # prior and data from separate draws of very different sizes (the data FIM is exact, so
    # all the Monte Carlo error is the prior's): the reported error must match the spread of
    # the bound over independent repeats of the whole experiment
    Jd = expected_fim(np.repeat((A.T @ A / S2)[None], 2000, axis=0))
    traces, errors = [], []
    for rep in range(300):
        theta, _ = _draws(100, seed=rep)
        b = bcrb(bayesian_fim(fisher_from_scores(-np.linalg.solve(C, theta.T).T), Jd))
        traces.append(b.trace)
        errors.append(b.trace_stderr)
    assert np.mean(errors) == pytest.approx(np.std(traces, ddof=1), rel=0.15)


# --- gaussian_fim conventions ------------------------------------------------------------


def test_gaussian_fim_real_jacobian_is_the_real_noise_fisher_information():
    # y = f(theta) + N(0, s2 I), real: J = K F^T F / s2 (numerical: Fisher of a real Gaussian)
    rng = np.random.default_rng(4)
    F = rng.standard_normal((6, 2))
    np.testing.assert_allclose(gaussian_fim(F, 0.5, 3), 3 * F.T @ F / 0.5)
    # the complex convention on a real Jacobian only when asked for
    np.testing.assert_allclose(gaussian_fim(F, 0.5, 3, noise="complex"), 2 * 3 * F.T @ F / 0.5)
    with pytest.raises(ValueError, match="noise"):
        gaussian_fim(F, 0.5, noise="laplace")


def test_independent_sum_counts_the_draws_of_both_parts():
    a = expected_fim(np.repeat(np.eye(2)[None], 10, axis=0))
    b = expected_fim(np.repeat(np.eye(2)[None], 7, axis=0))
    s = bayesian_fim(a, b)
    assert s.n_samples == 17 and len(s.parts) == 2


# --- estimators of J from a (learned) score --------------------------------------------

CP = np.array([[2.0, 0.8], [0.8, 1.0]])


def _gauss(M, seed):
    return np.random.default_rng(seed).multivariate_normal(np.zeros(2), CP, M)


def test_three_estimators_agree_for_the_exact_score():
    from ._fake import LinearScore

    theta = _gauss(40000, 0)
    exact = np.linalg.inv(CP)
    m = LinearScore(np.zeros(2), CP)
    for method in FIM_METHODS:
        est = score_fim(m, theta, method=method)
        assert np.all(np.abs(est.matrix - exact) <= 4 * est.stderr + 1e-12), method
    # -E[grad s] is the constant C^{-1}: no Monte Carlo error at all
    div = score_fim(m, theta, method="divergence")
    np.testing.assert_allclose(div.matrix, exact, rtol=1e-12)
    np.testing.assert_allclose(div.stderr, 0.0, atol=1e-12)


def test_debiased_estimator_is_first_order_insensitive_to_a_score_error():
    # a scale error c: s_hat = (1 + c) s. E[s_hat s_hat^T] = (1+c)^2 J, -E[grad s_hat] = (1+c) J,
    # debiased = (1 - c^2) J: the biases are 2c, c and -c^2 (closed form, not from the code)
    from ._fake import LinearScore

    theta = _gauss(200000, 1)
    exact = np.linalg.inv(CP)
    c = 0.05
    m = LinearScore(np.zeros(2), CP, c * exact)
    got = {
        k: np.trace(score_fim(m, theta, method=k).matrix) / np.trace(exact) - 1 for k in FIM_METHODS
    }
    assert got["plugin"] == pytest.approx((1 + c) ** 2 - 1, abs=0.01)
    assert got["divergence"] == pytest.approx(c, abs=1e-9)
    assert got["debiased"] == pytest.approx(-(c**2), abs=0.01)
    assert abs(got["debiased"]) < 0.1 * abs(got["plugin"])


def _ensemble(theta, tau, K, rng, *, folds=False):
    from beamopt.metrics.ensemble import ScoreEnsemble

    from ._fake import LinearScore, symmetric_noise

    rows = np.array_split(rng.permutation(len(theta)), K) if folds else [None] * K
    members = [
        LinearScore(np.zeros(2), CP, symmetric_noise(rng, 2, tau), held_out_rows=r, samples=theta)
        for r in rows
    ]
    return ScoreEnsemble(members, seeds=range(K))


def test_ensemble_fim_reports_the_seed_spread_beside_the_monte_carlo_error():
    rng = np.random.default_rng(2)
    theta = _gauss(3000, 3)
    ens = _ensemble(theta, 0.05, 5, rng)
    est = score_fim(ens, theta, method="plugin")
    single = [score_fim(m, theta, method="plugin") for m in ens]
    assert est.n_seeds == 5 and not est.cross_fitted
    np.testing.assert_allclose(est.matrix, np.mean([s.matrix for s in single], axis=0))
    spread = np.std([s.matrix for s in single], axis=0, ddof=1)
    np.testing.assert_allclose(est.seed_std, spread)
    np.testing.assert_allclose(est.stderr, np.sqrt(est.mc_stderr**2 + spread**2 / 5))
    b = bcrb(bayesian_fim(est, expected_fim(np.repeat(np.eye(2)[None], 3000, axis=0))))
    assert b.member_traces.shape == (5,)
    assert b.trace_seed_std == pytest.approx(np.std(b.member_traces, ddof=1))
    assert b.trace_stderr == pytest.approx(
        np.hypot(b.trace_mc_stderr, b.trace_seed_std / np.sqrt(5))
    )
    assert "5 seeds" in repr(b) and "5 seeds" in repr(est)


@pytest.mark.parametrize("folds", [False, True])
def test_ensemble_bcrb_interval_covers_at_the_nominal_rate(folds):
    # members carry independent "training" errors Delta_k on top of the Monte Carlo error of
    # the draws; the reported 95 % interval must cover the exact bound ~95 % of the time, and
    # the Monte Carlo error alone must not (it ignores training)
    rng = np.random.default_rng(5)
    Jd = np.array([[0.3, 0.1], [0.1, 0.2]])
    exact = np.trace(np.linalg.inv(np.linalg.inv(CP) + Jd))
    hits, mc_hits, n_rep = 0, 0, 200
    for _ in range(n_rep):
        theta = rng.multivariate_normal(np.zeros(2), CP, 2000)
        ens = _ensemble(theta, 0.08, 5, rng, folds=folds)
        prior = score_fim(ens, theta, method="plugin")
        assert prior.cross_fitted == folds
        b = bcrb(bayesian_fim(prior, expected_fim(np.repeat(Jd[None], 2000, axis=0))))
        lo, hi = b.interval(0.95)
        hits += lo <= exact <= hi
        mc_hits += abs(b.trace - exact) <= 1.96 * b.trace_mc_stderr
    assert 0.90 <= hits / n_rep <= 0.99
    if not folds:
        assert mc_hits / n_rep < 0.8


def test_cross_fitting_scores_each_row_with_the_members_that_held_it_out():
    rng = np.random.default_rng(7)
    theta = _gauss(500, 8)
    ens = _ensemble(theta, 0.1, 4, rng, folds=True)
    est = score_fim(ens, theta, method="debiased")
    assert est.cross_fitted and est.n_samples == 500
    for member, m_est in zip(ens, est.members, strict=True):
        rows = member.held_out_rows
        np.testing.assert_array_equal(np.sort(m_est.rows), np.sort(rows))
        ref = score_fim(member, theta[rows], method="debiased").matrix
        np.testing.assert_allclose(m_est.matrix, ref)
    # on other draws (not the training samples) every member scores every draw
    fresh = score_fim(ens, _gauss(300, 9), method="debiased")
    assert not fresh.cross_fitted and fresh.n_samples == 300
    with pytest.raises(ValueError, match="cross_fit"):
        score_fim(ens, _gauss(300, 9), cross_fit=True)


def test_score_fim_bad_inputs():
    from ._fake import LinearScore

    m = LinearScore(np.zeros(2), CP)
    with pytest.raises(ValueError, match="method"):
        score_fim(m, _gauss(10, 0), method="magic")
    with pytest.raises(ValueError, match="model"):
        score_fim(object(), _gauss(10, 0))
    with pytest.raises(ValueError, match="theta"):
        score_fim(m, np.ones((10, 3)))
    with pytest.raises(ValueError, match="jacobians"):
        fisher_from_scores(np.ones((4, 2)), method="debiased")
