import numpy as np
import pytest

from beamopt.metrics.fim import bayesian_fim, bcrb, expected_fim, fisher_from_scores, gaussian_fim

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
