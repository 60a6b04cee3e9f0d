r"""MMSE estimators from scores: Tweedie for AWGN and score-based turbo message passing.

AWGN, $y = x + \sigma n$ (eq. (65)): $\mathbb E[x\mid y] = y + \sigma^2\nabla_y\log p(y)$.

Linear model $y = Ax + \sigma n$, $x\in\mathbb R^N$, $y\in\mathbb R^M$: turbo message passing
("Scoring ISAC" eq. (66)-(74)) alternates the LMMSE module A with pseudo-prior
$\mathcal N(x_A^{\rm pri}, v_A^{\rm pri} I)$,
$$
x_A^{\rm post} = x_A^{\rm pri} + v_A^{\rm pri}A^\top(v_A^{\rm pri}AA^\top + \sigma^2 I)^{-1}
(y - Ax_A^{\rm pri}),\quad
v_A^{\rm post} = v_A^{\rm pri} - \tfrac{(v_A^{\rm pri})^2}{N}\operatorname{tr}\big(A^\top
(v_A^{\rm pri}AA^\top + \sigma^2 I)^{-1}A\big),
$$
and an MMSE denoiser B of the pseudo-observation $x_B^{\rm pri} = x + \mathcal N(0, v_B^{\rm
pri} I)$, exchanging extrinsic messages $v^{\rm ext} = (1/v^{\rm post} - 1/v^{\rm pri})^{-1}$,
$x^{\rm ext} = v^{\rm ext}(x^{\rm post}/v^{\rm post} - x^{\rm pri}/v^{\rm pri})$. A score
denoiser uses Tweedie, $x_B^{\rm post} = x_B^{\rm pri} + v\,s(x_B^{\rm pri}, \sqrt v)$, and
Tweedie's covariance formula $v_B^{\rm post} = v + \frac{v^2}{N}\nabla\cdot s$ (eq. (70)-(71)).
With the exact Gaussian denoiser the fixed point is the LMMSE (= exact posterior) mean.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from .._parallel import check_executor, run_tasks
from .._repr import summary_repr
from .._validation import as_array, check_int, check_positive, readonly
from ._checks import as_noise, as_samples, as_score_output

__all__ = [
    "tweedie_estimate",
    "gaussian_denoiser",
    "score_denoiser",
    "TurboResult",
    "turbo_message_passing",
    "MMSEEstimate",
    "mmse_monte_carlo",
]


def tweedie_estimate(y, score, noise_var) -> np.ndarray:
    r"""$\mathbb E[x\mid y] = y + \sigma^2\nabla_y\log p(y)$ for $y = x + \sigma n$ (eq. (65)).

    Parameters
    ----------
    y : array_like, shape (B, d)
    score : callable
        `score(y)` -> $\nabla_y \log p(y)$ of the noisy marginal, shape (B, d) (e.g.
        `lambda y: model.smoothed_score(y, sigma)`).
    noise_var : float
        $\sigma^2 > 0$.
    """
    y = as_samples(y, "y")
    s2 = as_noise(noise_var, "noise_var")
    if not callable(score):
        raise ValueError("score must be a callable score(y)")
    return y + s2 * as_score_output(score(y), "score", y.shape)


Denoise = Callable[[np.ndarray, float], tuple[np.ndarray, float]]


def gaussian_denoiser(mean, cov) -> Denoise:
    r"""Exact MMSE denoiser of $x \sim \mathcal N(\mu, C)$ seen through $x + \mathcal N(0, vI)$.

    Returns `denoise(x_pri, v) -> (x_post, v_post)` with
    $x_{\rm post} = \mu + C(C + vI)^{-1}(x_{\rm pri} - \mu)$ and
    $v_{\rm post} = \operatorname{tr}(C - C(C+vI)^{-1}C)/N$.
    """
    mu = as_array(mean, "mean", dtype=float, ndim=1)
    C = as_array(cov, "cov", dtype=float, ndim=2)
    if C.shape != (mu.size, mu.size):
        raise ValueError(f"cov must have shape ({mu.size}, {mu.size}); got {C.shape}")
    lam, V = np.linalg.eigh(0.5 * (C + C.T))
    if lam[0] < -1e-10 * max(lam[-1], 1.0):
        raise ValueError("cov must be positive semidefinite")
    lam = np.clip(lam, 0.0, None)

    def denoise(x, v):
        g = lam / (lam + v)
        x_post = mu + V @ (g * (V.T @ (x - mu)))
        return x_post, float(np.mean(lam * v / (lam + v)))

    return denoise


def score_denoiser(score, *, fd_step: float = 1e-4) -> Denoise:
    r"""MMSE denoiser from a smoothed score $s(x, \sigma) = \nabla\log p_\sigma(x)$ (eq. (70)-(71)).

    The divergence $\nabla\cdot s$ in Tweedie's covariance formula is taken by central
    finite differences over every coordinate ($2N$ score calls; $N$ is small here) with
    step `fd_step` times $\sqrt v$.

    Parameters
    ----------
    score : callable
        `score(x, sigma)` with `x` (B, N) and `sigma` (B,), e.g. a DSM model's
        [`smoothed_score`][beamopt.metrics.score_matching.ParameterScore.smoothed_score].
    """
    if not callable(score):
        raise ValueError("score must be a callable score(x, sigma)")
    fd_step = check_positive(fd_step, "fd_step")

    def denoise(x, v):
        N = x.size
        sd = np.sqrt(v)
        s = as_score_output(score(x[None], np.array([sd])), "score", (1, N))[0]
        h = fd_step * sd
        E = np.eye(N) * h
        xs = np.concatenate([x + E, x - E])
        ss = as_score_output(score(xs, np.full(2 * N, sd)), "score", (2 * N, N))
        div = float(np.sum(np.diag(ss[:N] - ss[N:])) / (2 * h))
        return x + v * s, max(v + v * v * div / N, 1e-300)

    return denoise


@dataclass(frozen=True)
class TurboResult:
    r"""Output of [`turbo_message_passing`][beamopt.metrics.mmse.turbo_message_passing].

    Attributes
    ----------
    estimate : ndarray, shape (N,)
        The denoiser's posterior mean $x_B^{\rm post}$ at the last iteration.
    variance : float
        Its average posterior variance $v_B^{\rm post}$.
    n_iterations : int
    converged : bool
        Whether the estimate moved less than `tol` (relative) in the last iteration.
    history : ndarray, shape (n_iterations,)
        Relative change of the estimate per iteration.
    """

    estimate: np.ndarray
    variance: float
    n_iterations: int
    converged: bool
    history: np.ndarray

    __repr__ = summary_repr


def _ext(x_post, v_post, x_pri, v_pri, v_floor):
    inv = 1.0 / v_post - 1.0 / v_pri
    v_ext = 1.0 / inv if inv > 0 else 1.0 / v_floor
    return v_ext * (x_post / v_post - x_pri / v_pri), min(max(v_ext, v_floor), 1.0 / v_floor)


def turbo_message_passing(
    y,
    A,
    noise_var,
    denoiser: Denoise,
    *,
    prior_mean=None,
    prior_var: float = 1.0,
    n_iterations: int = 30,
    tol: float = 1e-8,
) -> TurboResult:
    r"""Score-based turbo message passing for $y = Ax + \sigma n$ (eq. (66)-(74)).

    Parameters
    ----------
    y : array_like, shape (M,)
    A : array_like, shape (M, N)
    noise_var : float
        $\sigma^2 > 0$.
    denoiser : callable
        `denoiser(x_pri, v_pri) -> (x_post, v_post)`:
        [`gaussian_denoiser`][beamopt.metrics.mmse.gaussian_denoiser],
        [`score_denoiser`][beamopt.metrics.mmse.score_denoiser] or your own.
    prior_mean : array_like, shape (N,), optional
        Initial $x_A^{\rm pri}$ (default 0).
    prior_var : float
        Initial $v_A^{\rm pri} > 0$ (the prior's average variance is a good choice).
    n_iterations : int
    tol : float
    """
    y = as_array(y, "y", dtype=float, ndim=1)
    A = as_array(A, "A", dtype=float, ndim=2)
    if A.shape[0] != y.size:
        raise ValueError(f"A must have shape ({y.size}, N); got {A.shape}")
    s2 = as_noise(noise_var, "noise_var")
    if not callable(denoiser):
        raise ValueError("denoiser must be a callable denoiser(x_pri, v_pri)")
    N = A.shape[1]
    x_pri = np.zeros(N) if prior_mean is None else as_array(prior_mean, "prior_mean", dtype=float)
    if x_pri.shape != (N,):
        raise ValueError(f"prior_mean must have shape ({N},); got {x_pri.shape}")
    v_pri = check_positive(prior_var, "prior_var")
    n_iterations = check_int(n_iterations, "n_iterations")
    tol = check_positive(tol, "tol")
    # thin SVD A = U S V^T, once: A^T (v A A^T + s2 I)^{-1} = V diag(s / (v s^2 + s2)) U^T
    # and tr(A^T (v A A^T + s2 I)^{-1} A) = sum s^2 / (v s^2 + s2), so an iteration is O(MN)
    U, sv, Vt = np.linalg.svd(A, full_matrices=False)
    v_floor = 1e-12 * max(v_pri, 1e-300)
    x_B = x_pri.copy()
    v_B = v_pri
    history = []
    for _ in range(n_iterations):
        gain = sv / (v_pri * sv**2 + s2)
        x_post = x_pri + v_pri * (Vt.T @ (gain * (U.T @ (y - A @ x_pri))))
        v_post = v_pri - v_pri**2 / N * float(np.sum(gain * sv))
        x_ext, v_ext = _ext(x_post, max(v_post, v_floor), x_pri, v_pri, v_floor)
        x_new, v_B = denoiser(x_ext, v_ext)
        x_new = np.asarray(x_new, dtype=float)
        if x_new.shape != (N,) or not np.all(np.isfinite(x_new)):
            raise ValueError(f"denoiser must return a finite x_post of shape ({N},)")
        change = np.linalg.norm(x_new - x_B) / max(np.linalg.norm(x_new), 1e-300)
        history.append(change)
        x_B = x_new
        x_pri, v_pri = _ext(x_B, max(v_B, v_floor), x_ext, v_ext, v_floor)
        if change < tol:
            break
    return TurboResult(
        estimate=readonly(x_B),
        variance=float(v_B),
        n_iterations=len(history),
        converged=bool(history[-1] < tol),
        history=readonly(np.array(history)),
    )


@dataclass(frozen=True)
class MMSEEstimate:
    r"""Monte Carlo MSE $\frac1n\sum_i\|x_i - \hat x_i\|^2$.

    Attributes
    ----------
    mse : float
    stderr : float
    n_samples : int
    """

    mse: float
    stderr: float
    n_samples: int

    __repr__ = summary_repr


def mmse_monte_carlo(
    x_true, x_estimate, *, y=None, chunk_size: int = 256, executor=None
) -> MMSEEstimate:
    r"""MSE of an estimator over draws $(x_i, y_i)$, with its standard error (eq. (64)).

    $\widehat{\mathrm{MSE}} = \frac1n\sum_i \|x_i - \hat x(y_i)\|^2$, standard error the
    sample standard deviation of the squared errors over $\sqrt n$.

    Parameters
    ----------
    x_true : array_like, shape (n, N)
        The draws $x_i$ (a 1-D array is n scalar draws).
    x_estimate : array_like, shape (n, N), or callable
        The estimates $\hat x_i$, or an estimator `x_estimate(y_chunk) -> (B, N)` that is
        applied to `y` in chunks of `chunk_size` rows (e.g. turbo message passing per row;
        a module-level function or a `functools.partial` of one for process pools).
    y : array_like, shape (n, ...), optional
        Observations $y_i$; required when `x_estimate` is callable.
    chunk_size : int
        Rows of `y` per call of the estimator (one task of `executor`).
    executor : concurrent.futures.Executor, optional
        Runs the estimator's chunks: a thread or process pool, or dask.distributed's
        `Client.get_executor()`; None runs them here. The chunks are fixed by `chunk_size`,
        so every executor gives the same estimate.
    """
    x = as_samples(x_true, "x_true")
    if callable(x_estimate):
        x_estimate = _estimate_chunks(x_estimate, y, x.shape[0], chunk_size, executor)
    elif y is not None or executor is not None:
        raise ValueError("y= and executor= apply only to a callable x_estimate(y)")
    xh = as_samples(x_estimate, "x_estimate", dim=x.shape[1], n=x.shape[0])
    err = np.sum((x - xh) ** 2, axis=1)
    n = err.size
    se = float(err.std(ddof=1) / np.sqrt(n)) if n > 1 else float("inf")
    return MMSEEstimate(float(err.mean()), se, n)


def _estimate_chunks(estimator, y, n, chunk_size, executor) -> np.ndarray:
    if y is None:
        raise ValueError("a callable x_estimate needs the observations y=")
    y = as_array(y, "y")
    if y.ndim < 1 or y.shape[0] != n:
        raise ValueError(f"y must hold one observation per draw ({n}); got shape {y.shape}")
    chunk_size = check_int(chunk_size, "chunk_size")
    tasks = [(estimator, y[i : i + chunk_size]) for i in range(0, n, chunk_size)]
    parts = run_tasks(_apply, tasks, executor=check_executor(executor))
    out = [as_array(p, "x_estimate(y)", dtype=float) for p in parts]
    bad = [p.shape for p, t in zip(out, tasks) if p.ndim == 0 or p.shape[0] != len(t[1])]
    if bad:
        raise ValueError(f"x_estimate(y) must return one estimate per row of y; got {bad[0]}")
    return np.concatenate(out)


def _apply(estimator, y_chunk):
    return estimator(y_chunk)
