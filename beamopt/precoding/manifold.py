r"""Riemannian maximisation of the Monte Carlo expected spectral efficiency.

The Bayes-optimal precoder for the capacity functional maximises the
posterior expected SE, approximated by the sample average over posterior
draws (the perception-distortion paper's eq. (27)):

$$
\max_{F^H F = I}\ f(F) = \frac{1}{S}\sum_{s=1}^S
    \log_2\det\left(I + \frac{\rho}{n_s} F^H H^{(s)H} H^{(s)} F\right).
$$

Since $f(F U) = f(F)$ for every unitary $U$, $f$ is a
function of the column space of $F$ only, and the problem lives on the
complex Grassmann manifold (pymanopt 2.x has no complex Stiefel manifold; the
Grassmann quotient is the right one anyway). With $X_s = H^{(s)} F$,
$M_s = I + c X_s^H X_s$ and $c = \rho/n_s$, the Euclidean gradient
for the inner product $\Re\operatorname{tr}(A^H B)$ and its directional
derivative along $V$ ($Y_s = H^{(s)} V$) are

$$
\nabla f = \frac{2c}{S \ln 2}\sum_s H^{(s)H} X_s M_s^{-1},
$$

$$
\mathrm{D}\nabla f[V] = \frac{2c}{S \ln 2}\sum_s H^{(s)H}\left(Y_s
    - c\, X_s M_s^{-1}(Y_s^H X_s + X_s^H Y_s)\right) M_s^{-1}.
$$

With a leading subcarrier axis the problem is a product of Grassmannians and
$f$ is averaged over subcarriers. The solver is warm-started from the
expected-Gramian precoder, so it refines the Jensen-bound solution towards the
true expected-SE optimum.

References
----------
*A Perception vs. Distortion Perspective on Score-Based Generative Channel Estimation*, eq.
(26)-(27), Section VI; P.-A. Absil, R. Mahony and R. Sepulchre, *Optimization Algorithms on Matrix
Manifolds*, 2008, Ch. 7.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np

from .._repr import summary_repr
from .._validation import check_int, check_positive
from ..result import CONVERGED, MAX_ITERATIONS, PrecoderResult
from ._checks import channel_samples, check_precoder, check_streams
from .gramian import expected_gramian_precoder

__all__ = ["manifold_precoder", "manifold_problem", "ExpectedSpectralEfficiency"]

_OPTIMIZERS = ("trust_regions", "conjugate_gradient")
_BACKENDS = ("numpy", "torch")


@dataclass(frozen=True, eq=False)
class ExpectedSpectralEfficiency:
    r"""The sample-average SE $f(F)$, its Euclidean gradient and Hessian (numpy).

    Parameters
    ----------
    H : ndarray, shape (n_subcarriers, n_samples, n_rx, n_tx), complex
        Channel samples in this class's internal subcarrier-major layout (a single
        subcarrier has `n_subcarriers = 1`); the public functions take samples first
        and transpose.
    n_streams : int
    snr : float
        Transmit SNR $\rho$ (linear).

    Notes
    -----
    Every method takes `F` (and `V`) of shape
    (n_subcarriers, n_tx, n_streams), complex.
    """

    H: np.ndarray
    n_streams: int
    snr: float

    __repr__ = summary_repr

    @property
    def _c(self) -> float:
        return self.snr / self.n_streams

    @property
    def _scale(self) -> float:
        return 1.0 / (self.H.shape[0] * self.H.shape[1] * np.log(2.0))

    @property
    def _rows(self) -> np.ndarray:
        # Samples and receive antennas stacked as rows, (n_subcarriers, n_samples * n_rx, n_tx):
        # sums over samples become one BLAS product per subcarrier, with no per-sample
        # (n_tx, n_streams) intermediates.
        return self.H.reshape(self.H.shape[0], -1, self.H.shape[-1])

    def _sum_hh(self, Z) -> np.ndarray:
        r"""$\sum_s H^{(s)H} Z_s$ for `Z` of shape (n_subcarriers, n_samples, n_rx, n_streams)."""
        # conj(H^T conj(Z)) lets BLAS read H transposed in place instead of copying H.conj().
        Z = Z.reshape(Z.shape[0], -1, Z.shape[-1])
        return (np.swapaxes(self._rows, -1, -2) @ Z.conj()).conj()

    def _parts(self, F):
        X = (self._rows @ F).reshape(*self.H.shape[:-1], self.n_streams)
        M = np.eye(self.n_streams) + self._c * (np.swapaxes(X.conj(), -1, -2) @ X)
        return X, M

    def value(self, F) -> float:
        """$f(F)$ in bit/s/Hz, averaged over samples and subcarriers."""
        _, M = self._parts(F)
        return float(np.sum(np.linalg.slogdet(M)[1]) * self._scale)

    def gradient(self, F) -> np.ndarray:
        r"""Euclidean gradient $\nabla f$, shape (n_subcarriers, n_tx, n_streams)."""
        X, M = self._parts(F)
        return 2.0 * self._c * self._scale * self._sum_hh(X @ np.linalg.inv(M))

    def hessian(self, F, V) -> np.ndarray:
        r"""Directional derivative $\mathrm{D}\nabla f(F)[V]$, shape like `F`."""
        X, M = self._parts(F)
        Minv = np.linalg.inv(M)
        Y = (self._rows @ V).reshape(X.shape)
        XhY = np.swapaxes(X.conj(), -1, -2) @ Y
        dM = self._c * (XhY + np.swapaxes(XhY.conj(), -1, -2))
        inner = (Y - X @ Minv @ dM) @ Minv
        return 2.0 * self._c * self._scale * self._sum_hh(inner)


def _as_subcarrier_samples(H) -> np.ndarray:
    """Samples-first input -> the internal (n_subcarriers, n_samples, n_rx, n_tx) layout."""
    H = channel_samples(H)
    # Contiguous, so that ExpectedSpectralEfficiency can stack the samples without a copy.
    return np.ascontiguousarray(np.swapaxes(H, 0, 1) if H.ndim == 4 else H[None])


def manifold_problem(H, n_streams: int, snr, *, backend: str = "numpy"):
    r"""The pymanopt problem $\min_{F} -f(F)$ on the complex Grassmannian.

    Parameters
    ----------
    H : array_like, shape (n_samples, n_rx, n_tx) or (n_samples, n_subcarriers, n_rx, n_tx), complex
        Posterior channel samples, samples first.
    n_streams : int
        Streams, `1 <= n_streams <= n_tx`.
    snr : float
        Transmit SNR $\rho$ (linear, > 0).
    backend : {"numpy", "torch"}
        `"numpy"` supplies the analytic Euclidean gradient and Hessian;
        `"torch"` lets pymanopt differentiate a torch cost (complex128, CPU).

    Returns
    -------
    pymanopt.Problem
        On `ComplexGrassmann(n_tx, n_streams, k=n_subcarriers)`; points have
        shape (n_tx, n_streams) for one subcarrier, else
        (n_subcarriers, n_tx, n_streams). The cost is `-f` (pymanopt minimises).
    """
    import pymanopt

    H4 = _as_subcarrier_samples(H)
    n_sc, _, _, n_tx = H4.shape
    n_streams = check_streams(n_streams, n_tx)
    objective = ExpectedSpectralEfficiency(H4, n_streams, check_positive(snr, "snr"))
    manifold = pymanopt.manifolds.ComplexGrassmann(n_tx, n_streams, k=n_sc)
    shape = (n_sc, n_tx, n_streams)
    if backend == "numpy":

        @pymanopt.function.numpy(manifold)
        def cost(F):
            return -objective.value(F.reshape(shape))

        @pymanopt.function.numpy(manifold)
        def euclidean_gradient(F):
            return -objective.gradient(F.reshape(shape)).reshape(F.shape)

        @pymanopt.function.numpy(manifold)
        def euclidean_hessian(F, V):
            return -objective.hessian(F.reshape(shape), V.reshape(shape)).reshape(F.shape)

        return pymanopt.Problem(
            manifold,
            cost,
            euclidean_gradient=euclidean_gradient,
            euclidean_hessian=euclidean_hessian,
        )
    if backend == "torch":
        return pymanopt.Problem(manifold, _torch_cost(pymanopt, manifold, objective, shape))
    raise ValueError(f"backend must be one of {_BACKENDS}; got {backend!r}")


def _torch_cost(pymanopt, manifold, objective: ExpectedSpectralEfficiency, shape):
    import torch

    # Constants must be detached complex128 CPU tensors: pymanopt converts the
    # cost to numpy and hands us complex128 points.
    H = torch.as_tensor(objective.H, dtype=torch.complex128, device="cpu").detach()
    eye = torch.eye(objective.n_streams, dtype=torch.complex128)
    c, scale = objective._c, objective._scale

    @pymanopt.function.pytorch(manifold)
    def cost(F):
        X = H @ F.reshape(shape).unsqueeze(1)
        L = torch.linalg.cholesky(eye + c * (X.mH @ X))
        return -2.0 * scale * torch.log(torch.diagonal(L, dim1=-2, dim2=-1).real).sum()

    return cost


class _RecordingProblem:
    """Forwards a pymanopt Problem and records the cost wherever the gradient is taken.

    pymanopt's trust-region and CG optimizers evaluate the Riemannian gradient
    exactly at the start point and at every accepted iterate, and trust regions
    keep no per-iteration log, so this is where the objective history comes from.
    """

    def __init__(self, problem):
        self.manifold = problem.manifold
        self.cost = problem.cost
        self.riemannian_hessian = problem.riemannian_hessian
        self.preconditioner = problem.preconditioner
        self._gradient = problem.riemannian_gradient
        self.history: list[float] = []

    def riemannian_gradient(self, point):
        self.history.append(-float(self.cost(point)))
        return self._gradient(point)


def manifold_precoder(
    H,
    n_streams: int,
    snr,
    *,
    initial_point=None,
    optimizer: str = "trust_regions",
    backend: str = "numpy",
    max_iterations: int = 100,
    min_gradient_norm: float = 1e-6,
) -> PrecoderResult:
    r"""Precoder maximising the Monte Carlo expected SE over the complex Grassmannian.

    $$
    F^\star = \arg\max_{F^H F = I}\ \frac{1}{S}\sum_{s=1}^S
        \log_2\det\left(I + \frac{\rho}{n_s} H^{(s)} F F^H H^{(s)H}\right)
    $$

    Parameters
    ----------
    H : array_like, shape (n_samples, n_rx, n_tx) or (n_samples, n_subcarriers, n_rx, n_tx), complex
        Posterior channel samples, samples first (torch tensors accepted).
    n_streams : int
        Streams $n_s$, `1 <= n_streams <= rank` of the expected Gramian
        (checked by the warm start).
    snr : float
        Transmit SNR $\rho$ (linear, > 0).
    initial_point : array_like, shape (n_tx, n_streams) or (n_subcarriers, n_tx, n_streams)
        Optional orthonormal warm start; default:
        [`expected_gramian_precoder`][beamopt.expected_gramian_precoder].
    optimizer : {"trust_regions", "conjugate_gradient"}
        pymanopt optimizer (Riemannian trust regions use the Hessian).
    backend : {"numpy", "torch"}
        Analytic derivatives, or torch autodiff through pymanopt.
    max_iterations : int
        Optimizer iteration cap, >= 1.
    min_gradient_norm : float
        Stop when the Riemannian gradient norm drops below this, > 0.

    Returns
    -------
    PrecoderResult
        `F` with the shape of the warm start; `objective` is $f(F)$ in
        bit/s/Hz (averaged over subcarriers); `history` holds $f$ at the
        warm start and after every accepted step (non-decreasing); `status`
        is `"converged"` or `"max_iterations"`; `extras` holds
        `warm_start_objective`, `gradient_norm` and `stopping_criterion`.

    Raises
    ------
    ValueError
        On bad shapes, non-finite samples, `n_streams` above the rank, a
        non-orthonormal `initial_point` or unknown options.

    Notes
    -----
    The result is never worse than the warm start: both optimizers only accept
    steps that decrease the cost, and the warm start is returned should the
    final point be worse anyway.
    """
    import pymanopt

    start = time.perf_counter()
    H = channel_samples(H)
    squeeze = H.ndim == 3
    H4 = _as_subcarrier_samples(H)
    n_sc, _, _, n_tx = H4.shape
    n_streams = check_streams(n_streams, n_tx)
    if optimizer not in _OPTIMIZERS:
        raise ValueError(f"optimizer must be one of {_OPTIMIZERS}; got {optimizer!r}")
    if backend not in _BACKENDS:
        raise ValueError(f"backend must be one of {_BACKENDS}; got {backend!r}")
    max_iterations = check_int(max_iterations, "max_iterations")
    min_gradient_norm = check_positive(min_gradient_norm, "min_gradient_norm")
    if initial_point is None:
        F0 = expected_gramian_precoder(H, n_streams).F
    else:
        F0 = check_precoder(initial_point, n_tx, "initial_point")
        if F0.shape[-1] != n_streams or F0.size != n_sc * n_tx * n_streams:
            raise ValueError(
                f"initial_point must have shape {(n_sc, n_tx, n_streams)[squeeze:]}; got {F0.shape}"
            )
    point_shape = (n_tx, n_streams) if n_sc == 1 else (n_sc, n_tx, n_streams)
    problem = _RecordingProblem(manifold_problem(H, n_streams, snr, backend=backend))
    cls = {
        "trust_regions": pymanopt.optimizers.TrustRegions,
        "conjugate_gradient": pymanopt.optimizers.ConjugateGradient,
    }[optimizer]
    solver = cls(verbosity=0, max_iterations=max_iterations, min_gradient_norm=min_gradient_norm)
    run = solver.run(problem, initial_point=np.array(F0.reshape(point_shape)))
    history = np.asarray(problem.history, dtype=float)
    F, objective = np.asarray(run.point), -float(run.cost)
    if objective < history[0]:
        F, objective = F0, float(history[0])
    reason = run.stopping_criterion or ""
    converged = "grad norm" in reason or "step_size" in reason
    out_shape = (n_tx, n_streams) if squeeze else (n_sc, n_tx, n_streams)
    return PrecoderResult(
        F=np.ascontiguousarray(F).reshape(out_shape),
        objective=objective,
        status=CONVERGED if converged else MAX_ITERATIONS,
        method=f"manifold_{optimizer}",
        iterations=int(run.iterations),
        solve_time=time.perf_counter() - start,
        message=f"pymanopt {type(solver).__name__} ({backend} backend): {reason}",
        history=history,
        extras={
            "warm_start_objective": float(history[0]),
            "gradient_norm": float(run.gradient_norm)
            if run.gradient_norm is not None
            else float("nan"),
            "stopping_criterion": reason,
            "n_samples": H4.shape[1],
        },
    )
