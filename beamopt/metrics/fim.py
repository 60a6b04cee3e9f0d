r"""Bayesian Fisher information and the BCRB from learned or exact scores, with Monte Carlo errors.

Measurement-prior approach ("Scoring ISAC", eq. (60)-(63)):
$$
\hat J_b = \hat J_p + \hat J_d, \qquad
\hat J_p = \frac1M\sum_m s_p(\theta_m) s_p(\theta_m)^\top, \qquad
\hat J_d = \frac1{ML}\sum_{m,\ell} s_d(y_{m\ell}\mid\theta_m) s_d(y_{m\ell}\mid\theta_m)^\top
\ \text{or}\ \frac1M\sum_m J(\theta_m),
$$
with $s_p$ the prior score, $s_d$ the measurement (Fisher) score and $J(\theta)$ a known
per-parameter FIM, e.g. the Gaussian $J(\theta) = \frac{2K}{\sigma^2}\Re\{F^H F\}$,
$F = \partial f / \partial \theta^\top$ (eq. (112)). Posterior approach (eq. (59)):
$\hat J_b = \frac{1}{ML}\sum s(\theta_m \mid y_{m\ell}) s(\theta_m \mid y_{m\ell})^\top$.
The BCRB on the parameters of interest is the inverse of the Schur complement that
eliminates the nuisance parameters (eq. (119)).

Monte Carlo errors: each estimate is a mean over $M$ independent parameter draws of a
per-draw matrix $G_m$; the standard error of entry $(i,j)$ is $\mathrm{std}_m(G_{m,ij})/\sqrt M$.
The standard error of $\operatorname{tr}\,\mathrm{BCRB}$ is the delta method,
$\mathrm{std}_m\operatorname{tr}(P G_m P^\top)/\sqrt M$ with $P = E^\top J_b^{-1}$ the rows of
the inverse for the kept parameters; for a sum of independent estimates (prior and data from
separate draws) the squared errors of the parts add.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .._repr import summary_repr
from .._validation import as_array, readonly
from ._checks import as_noise

__all__ = [
    "FisherEstimate",
    "BoundEstimate",
    "fisher_from_scores",
    "expected_fim",
    "gaussian_fim",
    "bayesian_fim",
    "bcrb",
]


@dataclass(frozen=True)
class FisherEstimate:
    r"""A Monte Carlo Fisher information matrix.

    Attributes
    ----------
    matrix : ndarray, shape (d, d)
        The estimate $\hat J$.
    stderr : ndarray, shape (d, d)
        Monte Carlo standard error of each entry.
    n_samples : int
        Independent parameter draws $M$.
    n_measurements : int
        Measurements per draw $L$ averaged inside each draw (1 for a prior FIM).
    contributions : ndarray, shape (n, d, d)
        The per-draw matrices $G_m$ (their mean is `matrix`); for a sum of independent
        estimates, the parts' matrices stacked.
    parts : tuple of FisherEstimate
        The independent estimates this one sums (empty for a single mean over draws).
    """

    matrix: np.ndarray
    stderr: np.ndarray
    n_samples: int
    n_measurements: int
    contributions: np.ndarray
    parts: tuple[FisherEstimate, ...] = ()

    __repr__ = summary_repr


@dataclass(frozen=True)
class BoundEstimate:
    r"""A (learned) BCRB on the kept parameters.

    Attributes
    ----------
    matrix : ndarray, shape (k, k)
        $\big[(J_{kk} - J_{kn} J_{nn}^{-1} J_{nk})^{-1}\big]$, the bound on the kept block.
    trace : float
        $\operatorname{tr}$ of `matrix` (the MSE bound summed over kept parameters).
    trace_stderr : float
        Delta-method Monte Carlo standard error of `trace`.
    keep : tuple of int
        Indices of the kept parameters.
    fim : FisherEstimate
        The information matrix the bound inverts.
    """

    matrix: np.ndarray
    trace: float
    trace_stderr: float
    keep: tuple[int, ...]
    fim: FisherEstimate

    __repr__ = summary_repr


def _estimate(G: np.ndarray, n_measurements: int) -> FisherEstimate:
    M = G.shape[0]
    stderr = G.std(axis=0, ddof=1) / np.sqrt(M) if M > 1 else np.full(G.shape[1:], np.inf)
    return FisherEstimate(
        matrix=readonly(G.mean(axis=0)),
        stderr=readonly(stderr),
        n_samples=M,
        n_measurements=n_measurements,
        contributions=readonly(G),
    )


def fisher_from_scores(scores) -> FisherEstimate:
    r"""$\frac{1}{ML}\sum_{m,\ell} s_{m\ell} s_{m\ell}^\top$ (eq. (59), (61)-(63)).

    Parameters
    ----------
    scores : array_like, shape (M, d) or (M, L, d)
        Score vectors, real: prior scores at prior draws, Fisher scores at $(y_{m\ell},
        \theta_m)$, or posterior scores. Rows with the same $m$ share the parameter draw.
    """
    s = as_array(scores, "scores", dtype=float)
    if s.ndim == 2:
        s = s[:, None, :]
    if s.ndim != 3 or s.shape[0] < 1 or s.shape[1] < 1 or s.shape[2] < 1:
        raise ValueError(f"scores must have shape (M, d) or (M, L, d); got {s.shape}")
    G = np.einsum("mli,mlj->mij", s, s) / s.shape[1]
    return _estimate(G, s.shape[1])


def expected_fim(fims) -> FisherEstimate:
    r"""$\frac1M\sum_m J(\theta_m)$: a known per-parameter FIM averaged over prior draws.

    Parameters
    ----------
    fims : array_like, shape (M, d, d)
        Symmetric FIMs at prior draws $\theta_m$.
    """
    G = as_array(fims, "fims", dtype=float)
    if G.ndim != 3 or G.shape[1] != G.shape[2] or G.shape[0] < 1:
        raise ValueError(f"fims must have shape (M, d, d); got {G.shape}")
    return _estimate(0.5 * (G + G.transpose(0, 2, 1)), 1)


def gaussian_fim(jacobian, noise_var, n_snapshots: int = 1) -> np.ndarray:
    r"""$J(\theta) = \frac{2K}{\sigma^2}\Re\{F^H F\}$ for $y_k = f(\theta) + \mathcal{CN}(0,
    \sigma^2 I)$
    (eq. (112)).

    Parameters
    ----------
    jacobian : array_like, shape (..., n, d), complex
        $F = \partial f / \partial \theta^\top$.
    noise_var : float
        $\sigma^2 > 0$ (per complex entry).
    n_snapshots : int
        $K$ i.i.d. snapshots.

    Returns
    -------
    ndarray, shape (..., d, d)
    """
    F = as_array(jacobian, "jacobian", dtype=complex)
    if F.ndim < 2:
        raise ValueError(f"jacobian must have shape (..., n, d); got {F.shape}")
    s2 = as_noise(noise_var, "noise_var")
    if isinstance(n_snapshots, bool) or not isinstance(n_snapshots, int) or n_snapshots < 1:
        raise ValueError(f"n_snapshots must be an integer >= 1; got {n_snapshots!r}")
    return 2.0 * n_snapshots / s2 * np.real(np.swapaxes(F.conj(), -1, -2) @ F)


def bayesian_fim(prior: FisherEstimate, data: FisherEstimate) -> FisherEstimate:
    r"""$\hat J_b = \hat J_p + \hat J_d$ (eq. (60)).

    When both estimates come from the same $M$ parameter draws (in the same order) their
    per-draw matrices are added, so the standard error accounts for their correlation;
    otherwise the two are independent and the variances add.
    """
    for name, est in (("prior", prior), ("data", data)):
        if not isinstance(est, FisherEstimate):
            raise ValueError(f"{name} must be a FisherEstimate; got {type(est).__name__}")
    if prior.matrix.shape != data.matrix.shape:
        raise ValueError(
            f"prior and data must have the same shape; got {prior.matrix.shape} and "
            f"{data.matrix.shape}"
        )
    if prior.n_samples == data.n_samples and not prior.parts and not data.parts:
        return _estimate(prior.contributions + data.contributions, data.n_measurements)
    return FisherEstimate(
        matrix=readonly(prior.matrix + data.matrix),
        stderr=readonly(np.hypot(prior.stderr, data.stderr)),
        n_samples=min(prior.n_samples, data.n_samples),
        n_measurements=data.n_measurements,
        contributions=readonly(np.concatenate([prior.contributions, data.contributions])),
        parts=(*(prior.parts or (prior,)), *(data.parts or (data,))),
    )


def bcrb(fim: FisherEstimate, keep=None) -> BoundEstimate:
    r"""BCRB $= [J^{-1}]_{\mathcal K\mathcal K}$ on the kept parameters (eq. (119)).

    Parameters
    ----------
    fim : FisherEstimate
        A Bayesian FIM (or a data FIM for the CRB).
    keep : sequence of int, optional
        Parameters of interest (default: all); the others are nuisance (e.g. the Swerling
        RCS $\gamma$) and are eliminated by the Schur complement.
    """
    if not isinstance(fim, FisherEstimate):
        raise ValueError(f"fim must be a FisherEstimate; got {type(fim).__name__}")
    d = fim.matrix.shape[0]
    idx = tuple(range(d)) if keep is None else tuple(int(i) for i in np.atleast_1d(keep))
    if not idx or len(set(idx)) != len(idx) or any(not 0 <= i < d for i in idx):
        raise ValueError(f"keep must list distinct indices in [0, {d}); got {keep!r}")
    eig = np.linalg.eigvalsh(fim.matrix)
    if not eig[0] > 1e-12 * max(eig[-1], 1e-300):
        raise ValueError("fim must be positive definite to be inverted")
    Jinv = np.linalg.inv(fim.matrix)
    P = Jinv[list(idx)]
    B = P[:, list(idx)]
    B = 0.5 * (B + B.T)
    var = 0.0
    for part in fim.parts or (fim,):  # independent parts: their variances add
        per = np.einsum("ki,mij,kj->m", P, part.contributions, P)
        M = per.shape[0]
        var += per.var(ddof=1) / M if M > 1 else np.inf
    return BoundEstimate(
        matrix=readonly(B),
        trace=float(np.trace(B)),
        trace_stderr=float(np.sqrt(var)),
        keep=idx,
        fim=fim,
    )
