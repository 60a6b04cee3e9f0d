r"""Closed-form Bayesian precoders from posterior channel samples, and their spectral efficiency.

Given posterior draws $H^{(1)}, \dots, H^{(S)} \sim p(H \mid y)$ of a
`(n_rx, n_tx)` channel, the precoder $F \in \mathbb{C}^{n_{tx} \times
n_s}$ with orthonormal columns ($F^H F = I$, equal power per stream) is
judged by the spectral efficiency

$$
\mathrm{SE}(H, F) = \log_2\det\left(I + \frac{\rho}{n_s} H F F^H H^H\right).
$$

The *expected Gramian* precoder maximises the expected received energy

$$
\mathbb{E}\,\|H F\|_F^2 = \operatorname{tr}\left(F^H \hat G F\right),
\qquad \hat G = \frac{1}{S}\sum_s H^{(s)H} H^{(s)},
$$

whose maximiser over $F^H F = I$ spans the `n_s` dominant
eigenvectors of $\hat G$ (Ky Fan), with maximum the sum of the `n_s`
largest eigenvalues. The same $F$ maximises the Jensen upper bound
$\mathbb{E}[\mathrm{SE}] \le \log_2\det(I + \frac{\rho}{n_s} F^H \hat G F)$
(Cauchy interlacing), which is why it is the natural surrogate of the
expected SE. With one sample it is the SVD precoder of that sample; applied to
the CME it is the plug-in [`cme_precoder`][beamopt.cme_precoder].

Samples come first, as a sampler returns them: `(n_samples, n_rx, n_tx)` or
`(n_samples, n_subcarriers, n_rx, n_tx)`; with a subcarrier axis every
subcarrier gets its own precoder and objectives are averaged over subcarriers.

References
----------
*A Perception vs. Distortion Perspective on Score-Based Generative Channel Estimation*, eq.
(25)-(28) and Appendix C; R. A. Horn and C. R. Johnson, *Matrix Analysis*, 2nd ed., 2012, Sec. 4.3
(Ky Fan maximum principle).
"""

from __future__ import annotations

import time

import numpy as np

from .._validation import as_array, check_psd
from ..result import OPTIMAL, PrecoderResult
from ._checks import RANK_RTOL, channel_samples, check_streams

__all__ = [
    "expected_gramian",
    "gramian_precoder",
    "expected_gramian_precoder",
    "cme_precoder",
]


def expected_gramian(H) -> np.ndarray:
    r"""Monte Carlo expected Gramian $\hat G = \frac1S \sum_s H^{(s)H} H^{(s)}$.

    Parameters
    ----------
    H : array_like, shape (n_samples, n_rx, n_tx) or (n_samples, n_subcarriers, n_rx, n_tx), complex
        Channel samples, samples first (torch tensors accepted).

    Returns
    -------
    ndarray, shape (n_tx, n_tx) or (n_subcarriers, n_tx, n_tx), complex128
        Hermitian PSD.
    """
    return _mean_gramian(channel_samples(H))


def _mean_gramian(H: np.ndarray) -> np.ndarray:
    if H.ndim == 4:
        # One subcarrier at a time keeps the stacked copy at 1/n_subcarriers of the samples.
        return np.stack([_mean_gramian(H[:, k]) for k in range(H.shape[1])])
    # Samples and receive antennas stacked as the rows of one (n_samples * n_rx, n_tx) matrix
    # make the sum of per-sample Gramians a single BLAS product (an einsum here runs an
    # unblocked loop, about 10x slower at n_tx = 256).
    rows = H.reshape(-1, H.shape[-1])
    return (rows.conj().T @ rows) / H.shape[0]


def _dominant(G: np.ndarray, n_streams: int, what: str) -> tuple[np.ndarray, np.ndarray]:
    lam, V = np.linalg.eigh(G)
    lam, V = lam[..., ::-1], V[..., ::-1]
    tol = RANK_RTOL * np.maximum(lam[..., :1], np.finfo(float).tiny)
    rank = int(np.min(np.sum(lam > tol, axis=-1)))
    if n_streams > rank:
        raise ValueError(
            f"n_streams must be <= the rank of {what} ({rank}); got {n_streams}. "
            "Use fewer streams or more (diverse) samples."
        )
    return np.ascontiguousarray(V[..., :n_streams]), lam


def _result(F, objective, method, start, **extras) -> PrecoderResult:
    return PrecoderResult(
        F=F,
        objective=float(objective),
        status=OPTIMAL,
        method=method,
        solve_time=time.perf_counter() - start,
        history=np.array([float(objective)]),
        extras=extras,
    )


def gramian_precoder(G, n_streams: int) -> PrecoderResult:
    r"""Dominant-eigenvector precoder of a given (e.g. exact posterior) Gramian.

    $$
    F^\star = \arg\max_{F^H F = I} \operatorname{tr}(F^H G F)
    $$

    Parameters
    ----------
    G : array_like, shape (n_tx, n_tx) or (n_subcarriers, n_tx, n_tx), complex
        Hermitian PSD Gramian, e.g. [`beamopt.GaussianMixturePosterior.expected_gramian`][].
    n_streams : int
        Streams $n_s$, `1 <= n_streams <= rank(G)`.

    Returns
    -------
    PrecoderResult
        `F` of shape (n_tx, n_streams) or (n_subcarriers, n_tx, n_streams);
        `objective` is $\operatorname{tr}(F^H G F)$ (averaged over
        subcarriers), the sum of the `n_streams` largest eigenvalues;
        `extras["eigenvalues"]` holds all eigenvalues in descending order.

    Raises
    ------
    ValueError
        If `G` is not square Hermitian PSD or `n_streams` exceeds its rank.
    """
    start = time.perf_counter()
    G = as_array(G, "G", dtype=complex, ndim=(2, 3))
    if G.shape[-1] != G.shape[-2] or G.shape[-1] == 0:
        raise ValueError(f"G must have shape (..., n_tx, n_tx); got {G.shape}")
    check_psd(G, "G")
    n_streams = check_streams(n_streams, G.shape[-1])
    F, lam = _dominant(G, n_streams, "G")
    objective = np.mean(np.sum(lam[..., :n_streams], axis=-1))
    return _result(F, objective, "gramian_eigenvectors", start, eigenvalues=lam)


def expected_gramian_precoder(H, n_streams: int) -> PrecoderResult:
    r"""Bayesian precoder from the dominant eigenvectors of the expected posterior Gramian.

    $$
    F^\star = \arg\max_{F^H F = I}\ \operatorname{tr}\left(F^H \hat G F\right),
    \qquad \hat G = \frac{1}{S}\sum_{s=1}^S H^{(s)H} H^{(s)}
    $$

    Parameters
    ----------
    H : array_like, shape (n_samples, n_rx, n_tx) or (n_samples, n_subcarriers, n_rx, n_tx), complex
        Posterior channel samples, samples first: a sampler's output goes in
        unchanged.
    n_streams : int
        Streams $n_s$, `1 <= n_streams <= rank(G_hat)` (at most
        `min(n_tx, n_samples * n_rx)`).

    Returns
    -------
    PrecoderResult
        `F` of shape (n_tx, n_streams) or (n_subcarriers, n_tx, n_streams);
        `objective` is the expected received energy
        $\operatorname{tr}(F^H \hat G F)$ (averaged over subcarriers),
        equal to the sum of the `n_streams` largest eigenvalues of
        $\hat G$; `extras` holds `eigenvalues` (descending) and
        `n_samples`. Use
        [`spectral_efficiency`][beamopt.precoding.spectral_efficiency.spectral_efficiency]
        for the SE.

    Raises
    ------
    ValueError
        On wrong shapes, non-finite samples, or `n_streams` above the rank.

    References
    ----------
    *A Perception vs. Distortion Perspective on Score-Based Generative Channel Estimation*, eq.
    (28), Algorithm 1 and Appendix C, eq. (33)-(34).
    """
    start = time.perf_counter()
    H = channel_samples(H)
    G = _mean_gramian(H)
    n_streams = check_streams(n_streams, G.shape[-1])
    F, lam = _dominant(G, n_streams, "the expected Gramian")
    objective = np.mean(np.sum(lam[..., :n_streams], axis=-1))
    n_samples = H.shape[0]
    return _result(F, objective, "expected_gramian", start, eigenvalues=lam, n_samples=n_samples)


def cme_precoder(H_mean, n_streams: int) -> PrecoderResult:
    r"""Plug-in SVD precoder of a point estimate (e.g. the conditional mean).

    $$
    \hat H = U \Sigma V^H, \qquad F = V_{:, 1:n_s}
    $$

    Parameters
    ----------
    H_mean : array_like, shape (n_rx, n_tx) or (n_subcarriers, n_rx, n_tx), complex
        Channel estimate $\hat H$; with the exact posterior mean this is
        the CME precoder of the perception-distortion paper.
    n_streams : int
        Streams, `1 <= n_streams <= rank(H_mean)`.

    Returns
    -------
    PrecoderResult
        `F` of shape (n_tx, n_streams) or (n_subcarriers, n_tx, n_streams);
        `objective` is $\|\hat H F\|_F^2$ (averaged over subcarriers),
        the sum of the `n_streams` largest squared singular values;
        `extras["singular_values"]` holds all of them.

    Raises
    ------
    ValueError
        On wrong shapes, non-finite entries, or `n_streams` above the rank
        (a zero estimate, as the CME of a zero-mean prior without pilots, has
        rank 0).
    """
    start = time.perf_counter()
    H_mean = as_array(H_mean, "H_mean", dtype=complex, ndim=(2, 3))
    if H_mean.size == 0:
        raise ValueError(f"H_mean must not have empty axes; got {H_mean.shape}")
    n_streams = check_streams(n_streams, H_mean.shape[-1])
    _, s, Vh = np.linalg.svd(H_mean)
    tol = np.sqrt(RANK_RTOL) * np.maximum(s[..., :1], np.finfo(float).tiny)
    rank = int(np.min(np.sum(s > tol, axis=-1)))
    if n_streams > rank:
        hint = (
            " (H_mean is zero on some subcarrier: an untrained or degenerate estimator's output?)"
            if rank == 0
            else ""
        )
        raise ValueError(f"n_streams must be <= the rank of H_mean ({rank}); got {n_streams}{hint}")
    F = np.ascontiguousarray(np.swapaxes(Vh[..., :n_streams, :], -1, -2).conj())
    objective = np.mean(np.sum(s[..., :n_streams] ** 2, axis=-1))
    return _result(F, objective, "svd", start, singular_values=s)
