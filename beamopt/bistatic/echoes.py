r"""Echo simulation and Monte Carlo evaluation of the DoA estimators.

[`simulate_echoes`][beamopt.bistatic.echoes.simulate_echoes] draws trials of the bistatic echo model

$$
y_t = \alpha\, b(\theta) a(\phi)^H (w_t + s_t) + n_t,
\qquad w_t \sim \mathcal{CN}(0, W),\; n_t \sim \mathcal{CN}(0, \sigma_s^2 I),
$$

with one known sequence $S = [s_1, \dots, s_L]$ whose sample covariance is
exactly $R_s$: $S = \sqrt{L}\, U_r \Lambda_r^{1/2} Q$ from the
eigendecomposition $R_s = U \Lambda U^H$ and a random $Q$ with
orthonormal rows, so $S S^H / L = U_r \Lambda_r U_r^H = R_s$ (possible only
when $L \ge \mathrm{rank}\,R_s$). The echo depends on $w_t$ only
through $a^H w_t \sim \mathcal{CN}(0, a^H W a)$, which is what is drawn.

[`doa_mse`][beamopt.bistatic.echoes.doa_mse] runs
[`estimate_doa`][beamopt.bistatic.estimation.estimate_doa] on such trials and compares its mean
squared error with [`crb_doa`][beamopt.crb_doa].
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple

import numpy as np

from .._parallel import check_executor, monte_carlo
from .._repr import short_repr
from .._threads import single_blas_thread
from .._validation import as_array, as_covariance, as_generator, check_int
from .crb import crb_from_gains
from .estimation import _estimate
from .scenario import BistaticScenario

__all__ = ["EchoSamples", "DoaMseResult", "simulate_echoes", "doa_mse", "sensing_sequence"]


class EchoSamples(NamedTuple):
    """Simulated echoes and the known sequence (unpacks as `Y, S`)."""

    Y: np.ndarray
    """Echoes, shape (n_trials, n_rx, L), complex (V)."""
    S: np.ndarray | None
    """Known sensing sequence, shape (n_tx, L), complex; None without `Rs`."""

    def __repr__(self) -> str:
        return short_repr(self, {"Y": self.Y, "S": self.S})


def sensing_sequence(Rs, n_symbols: int, rng=None) -> np.ndarray:
    r"""A sequence $S$ whose sample covariance $S S^H / L$ equals `Rs`.

    Parameters
    ----------
    Rs : array_like, shape (n_tx, n_tx), complex
        Target sample covariance (W), Hermitian PSD.
    n_symbols : int
        Sequence length $L$; must be at least $\mathrm{rank}\,R_s$.
    rng : None, int or numpy.random.Generator
        Source of the random orthonormal rows $Q$.

    Returns
    -------
    ndarray, shape (n_tx, n_symbols), complex
        $S = \sqrt{L}\, U_r \Lambda_r^{1/2} Q$ with $Q Q^H = I_r$. When
        $L \ge N_t$ all eigenvalues are kept, so the identity holds to
        rounding; otherwise eigenvalues below $10^{-10}\lambda_{\max}$ count
        as zero.

    Raises
    ------
    ValueError
        If `Rs` is not Hermitian PSD or `n_symbols < rank(Rs)`.
    """
    L = check_int(n_symbols, "n_symbols")
    Rs = as_array(Rs, "Rs", dtype=complex, ndim=2)
    Rs = as_covariance(Rs, "Rs", Rs.shape[0], batched=False)
    lam, U = np.linalg.eigh(Rs)
    lam = np.maximum(lam, 0.0)
    keep = lam > 1e-10 * max(float(lam[-1]), np.finfo(float).tiny)
    rank = int(keep.sum())
    if L < rank:
        raise ValueError(f"n_symbols (L={L}) must be >= rank(Rs) = {rank}")
    if L >= len(lam):
        keep[:] = True
    G = as_generator(rng)
    r = int(keep.sum())
    Q, _ = np.linalg.qr(G.standard_normal((L, r)) + 1j * G.standard_normal((L, r)))
    # einsum, not matmul: small products like this one crawl with a multi-threaded BLAS
    return np.sqrt(L) * np.einsum("ir,lr->il", U[:, keep] * np.sqrt(lam[keep]), Q.conj())


def _draw(scenario: BistaticScenario, cW: float, z, n_trials: int, rng) -> np.ndarray:
    """Echo trials, shape (n_trials, n_rx, L), given $c_W$ and $z = a^H S$."""
    L = scenario.n_symbols
    shape = (n_trials, L)
    xi = np.sqrt(cW / 2) * (rng.standard_normal(shape) + 1j * rng.standard_normal(shape))
    if z is not None:
        xi = xi + z
    noise_shape = (n_trials, scenario.n_rx, L)
    noise = rng.standard_normal(noise_shape) + 1j * rng.standard_normal(noise_shape)
    return (
        scenario.alpha * scenario.b[:, None] * xi[:, None, :]
        + np.sqrt(scenario.noise_power / 2) * noise
    )


def _gain(a, M) -> float:
    """$a^H M a$ clipped at 0 (an einsum loop: no BLAS call, see `sensing_sequence`)."""
    return max(float(np.einsum("i,ij,j->", a.conj(), M, a).real), 0.0)


def _setup(scenario, W, Rs, rng):
    W = as_covariance(W, "W", scenario.n_tx, batched=False)
    S, cS = None, 0.0
    if Rs is not None:
        Rs = as_covariance(Rs, "Rs", scenario.n_tx, batched=False)
        S = sensing_sequence(Rs, scenario.n_symbols, rng)
        cS = _gain(scenario.a, Rs)
    cW = _gain(scenario.a, W)
    z = None if S is None else np.einsum("i,il->l", scenario.a.conj(), S)
    return W, S, cW, z, cS


def simulate_echoes(scenario: BistaticScenario, W, Rs=None, *, n_trials: int, rng=None):
    r"""Draw independent trials of the bistatic echo with a known sensing sequence.

    Parameters
    ----------
    scenario : BistaticScenario
        Geometry, $\alpha$, noise power $\sigma_s^2$ (W) and
        $L$ = `n_symbols`.
    W : array_like, shape (n_tx, n_tx), complex
        Covariance of the Gaussian information signal (W); zeros for none.
    Rs : array_like, shape (n_tx, n_tx), complex, optional
        Sample covariance of the deterministic sensing sequence (W); `None` for
        a Gaussian-only transmission.
    n_trials : int
        Number of independent trials (fresh $w_t$ and $n_t$; the same
        $S$).
    rng : None, int or numpy.random.Generator
        Randomness for $S$, $w_t$ and $n_t$.

    Returns
    -------
    EchoSamples
        `Y` of shape (n_trials, n_rx, L) and `S` of shape (n_tx, L) (`None`
        when `Rs` is None), with $S S^H / L = R_s$.

    Raises
    ------
    ValueError
        If a covariance has the wrong shape or is not Hermitian PSD, or
        `n_symbols < rank(Rs)`.
    """
    n_trials = check_int(n_trials, "n_trials")
    gen = as_generator(rng)
    _, S, cW, z, _ = _setup(scenario, W, Rs, gen)
    return EchoSamples(_draw(scenario, cW, z, n_trials, gen), S)


@dataclass(frozen=True)
class DoaMseResult:
    r"""Monte Carlo accuracy of a DoA estimator against the CRB.

    Attributes
    ----------
    mse : float
        Mean squared error $\frac1T\sum (\hat\theta_i - \theta)^2$ (rad^2).
    crb : float
        [`crb_doa`][beamopt.crb_doa] of the same design (rad^2).
    ratio : float
        `mse / crb` (1 is efficient).
    bias : float
        Mean error $\frac1T\sum(\hat\theta_i - \theta)$ (rad).
    std_error : float
        Standard error of `mse`: the sample standard deviation of the squared
        errors over $\sqrt{T}$ (rad^2).
    estimates : ndarray, shape (n_trials,)
        The DoA estimates (rad).
    method : str
        The estimator's `method`.
    """

    mse: float
    crb: float
    ratio: float
    bias: float
    std_error: float
    estimates: np.ndarray
    method: str

    @property
    def n_trials(self) -> int:
        """Number of Monte Carlo trials."""
        return len(self.estimates)

    def __repr__(self) -> str:
        # the estimates can be thousands of numbers: summarise them, never dump them
        return (
            f"DoaMseResult(mse={self.mse:.4g}, crb={self.crb:.4g}, ratio={self.ratio:.4g}, "
            f"bias={self.bias:.3g}, std_error={self.std_error:.3g}, "
            f"n_trials={self.n_trials}, method={self.method!r})"
        )


def doa_mse(
    scenario: BistaticScenario,
    W,
    Rs=None,
    *,
    n_trials: int = 1000,
    rng=None,
    method: str = "phase_magnitude",
    grid_size: int | None = None,
    search_range=None,
    chunk_size: int = 256,
    executor=None,
) -> DoaMseResult:
    r"""Monte Carlo MSE of [`estimate_doa`][beamopt.bistatic.estimation.estimate_doa] and its ratio
    to the CRB.

    One sequence $S$ with $S S^H/L = R_s$ is drawn from `rng` and kept; each trial
    draws fresh information symbols and noise
    ([`simulate_echoes`][beamopt.bistatic.echoes.simulate_echoes]), chunk by chunk to bound memory:
    chunk $c$ draws from child $c$ of `rng` (`numpy.random.Generator.spawn`), so the chunk
    size changes the random stream, not the statistics, and an executor changes neither.
    The relative standard error of the MSE is about $\sqrt{2/T}$ when the errors are Gaussian.

    Parameters
    ----------
    scenario : BistaticScenario
        The scenario; its `doa` is the truth.
    W : array_like, shape (n_tx, n_tx), complex
        Gaussian information covariance (W); zeros for deterministic-only.
    Rs : array_like, shape (n_tx, n_tx), complex, optional
        Deterministic sensing covariance (W); `None` for Gaussian-only.
    n_trials : int
        Number of Monte Carlo trials $T$.
    rng : None, int or numpy.random.Generator
        Seed or generator.
    method, grid_size, search_range
        Passed to [`estimate_doa`][beamopt.bistatic.estimation.estimate_doa].
    chunk_size : int
        Trials simulated and estimated at once (one task of `executor`).
    executor : concurrent.futures.Executor, optional
        Runs the chunks: a thread or process pool, or dask.distributed's
        `Client.get_executor()`; None runs them here. The result is the same for every
        executor and number of workers.

    Returns
    -------
    DoaMseResult
    """
    n_trials = check_int(n_trials, "n_trials", minimum=2)
    chunk_size = check_int(chunk_size, "chunk_size")
    check_executor(executor)
    gen = as_generator(rng)
    W, S, cW, z, cS = _setup(scenario, W, Rs, gen)
    args = (scenario, W, S, cW, z, method, grid_size, search_range)
    chunks = monte_carlo(_trial_chunk, n_trials, chunk_size=chunk_size, rng=gen, args=args,
                         executor=executor)  # fmt: skip
    theta = np.concatenate(chunks)
    err = theta - scenario.doa
    mse = float(np.mean(err**2))
    crb = float(crb_from_gains(scenario, cW, cS))
    return DoaMseResult(
        mse=mse,
        crb=crb,
        ratio=mse / crb,
        bias=float(np.mean(err)),
        std_error=float(np.std(err**2, ddof=1) / np.sqrt(n_trials)),
        estimates=theta,
        method=method,
    )


def _trial_chunk(n, rng, scenario, W, S, cW, z, method, grid_size, search_range) -> np.ndarray:
    """DoA estimates of `n` fresh trials (module level, so process pools can pickle it)."""
    with single_blas_thread():  # one small LAPACK call per chunk: a thread pool only waits
        Y = _draw(scenario, cW, z, n, rng)
        # W was validated by _setup: the estimator takes its gain a^H W a as is
        return _estimate(Y, scenario, W, S, method, grid_size, search_range, 1e-12, cW=cW).doa
