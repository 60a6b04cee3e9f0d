import numpy as np
import pytest

from beamopt.metrics.mmse import (
    gaussian_denoiser,
    mmse_monte_carlo,
    score_denoiser,
    turbo_message_passing,
    tweedie_estimate,
)

from ._gauss import smoothed_gaussian_score

rng = np.random.default_rng(1)
N, M = 6, 4
A = rng.standard_normal((M, N))
B = rng.standard_normal((N, N))
C = B @ B.T / N + 0.2 * np.eye(N)
MU = rng.standard_normal(N)
S2 = 0.1


def _lmmse(y):
    return MU + C @ A.T @ np.linalg.solve(A @ C @ A.T + S2 * np.eye(M), y - A @ MU)


def test_tweedie_with_exact_score_is_exact_posterior_mean():
    y = rng.standard_normal((5, N))
    score = smoothed_gaussian_score(MU, C)
    est = tweedie_estimate(y, lambda v: score(v, np.full(len(v), np.sqrt(S2))), S2)
    exact = MU + (C @ np.linalg.solve(C + S2 * np.eye(N), (y - MU).T)).T
    np.testing.assert_allclose(est, exact, atol=1e-12)


@pytest.mark.parametrize("kind", ["gaussian", "score"])
def test_turbo_with_exact_gaussian_denoiser_converges_to_lmmse(kind):
    x = MU + np.linalg.cholesky(C) @ rng.standard_normal(N)
    y = A @ x + np.sqrt(S2) * rng.standard_normal(M)
    den = (
        gaussian_denoiser(MU, C)
        if kind == "gaussian"
        else score_denoiser(smoothed_gaussian_score(MU, C))
    )
    res = turbo_message_passing(
        y, A, S2, den, prior_mean=MU, prior_var=np.trace(C) / N, n_iterations=200
    )
    assert res.converged
    np.testing.assert_allclose(res.estimate, _lmmse(y), atol=1e-6)


def test_mmse_monte_carlo_of_lmmse_matches_closed_form():
    X = MU + rng.standard_normal((4000, N)) @ np.linalg.cholesky(C).T
    Y = X @ A.T + np.sqrt(S2) * rng.standard_normal((4000, M))
    est = mmse_monte_carlo(X, np.array([_lmmse(y) for y in Y]))
    exact = np.trace(C - C @ A.T @ np.linalg.solve(A @ C @ A.T + S2 * np.eye(M), A @ C))
    assert abs(est.mse - exact) <= 4 * est.stderr


def test_bad_inputs():
    den = gaussian_denoiser(MU, C)
    with pytest.raises(ValueError, match="noise_var"):
        turbo_message_passing(np.zeros(M), A, 0.0, den)
    with pytest.raises(ValueError, match="A must"):
        turbo_message_passing(np.zeros(M + 1), A, S2, den)
    with pytest.raises(ValueError, match="noise_var"):
        tweedie_estimate(np.zeros((2, N)), lambda v: v, -1.0)
    with pytest.raises(ValueError, match="x_estimate"):
        mmse_monte_carlo(np.zeros((3, 2)), np.zeros((3, 3)))


def test_turbo_with_more_observations_than_unknowns_converges_to_lmmse():
    A_tall = rng.standard_normal((2 * N, N))
    x = MU + np.linalg.cholesky(C) @ rng.standard_normal(N)
    y = A_tall @ x + np.sqrt(S2) * rng.standard_normal(2 * N)
    res = turbo_message_passing(
        y,
        A_tall,
        S2,
        gaussian_denoiser(MU, C),
        prior_mean=MU,
        prior_var=np.trace(C) / N,
        n_iterations=200,
    )
    # LMMSE in information form (independent of the module's SVD route)
    exact = np.linalg.solve(
        np.linalg.inv(C) + A_tall.T @ A_tall / S2, np.linalg.solve(C, MU) + A_tall.T @ y / S2
    )
    assert res.converged
    np.testing.assert_allclose(res.estimate, exact, atol=1e-6)


def _lmmse_rows(Y):
    """A per-row estimator, as users write them around turbo_message_passing (module level)."""
    return np.array([_lmmse(y) for y in Y])


def test_callable_estimator_in_chunks_equals_the_array_form(dask_executor):
    from concurrent.futures import ThreadPoolExecutor

    X = MU + rng.standard_normal((300, N)) @ np.linalg.cholesky(C).T
    Y = X @ A.T + np.sqrt(S2) * rng.standard_normal((300, M))
    ref = mmse_monte_carlo(X, _lmmse_rows(Y))
    serial = mmse_monte_carlo(X, _lmmse_rows, y=Y, chunk_size=64)
    with ThreadPoolExecutor(max_workers=2) as ex:
        pooled = mmse_monte_carlo(X, _lmmse_rows, y=Y, chunk_size=64, executor=ex)
    remote = mmse_monte_carlo(X, _lmmse_rows, y=Y, chunk_size=64, executor=dask_executor)
    assert ref.mse == serial.mse == pooled.mse == remote.mse
    assert ref.stderr == serial.stderr and ref.n_samples == serial.n_samples == 300


def test_callable_estimator_argument_errors():
    X = np.zeros((4, N))
    with pytest.raises(ValueError, match="needs the observations y="):
        mmse_monte_carlo(X, _lmmse_rows)
    with pytest.raises(ValueError, match="one observation per draw"):
        mmse_monte_carlo(X, _lmmse_rows, y=np.zeros((3, M)))
    with pytest.raises(ValueError, match="one estimate per row"):
        mmse_monte_carlo(X, lambda Y: np.zeros((1, N)), y=np.zeros((4, M)))
    with pytest.raises(ValueError, match="apply only to a callable"):
        mmse_monte_carlo(X, X, y=np.zeros((4, M)))
