r"""Exact posterior of a complex Gaussian channel prior under the linear pilot model.

With prior $h = \operatorname{vec}(H) \sim \mathcal{CN}(\mu, C)$ and
observation $y = A h + n$, $n \sim \mathcal{CN}(0, \sigma^2 I)$,
the posterior is Gaussian with the LMMSE (here: MMSE) mean and covariance

$$
S = A C A^H + \sigma^2 I, \qquad K = C A^H S^{-1},
$$

$$
\mathbb{E}[h \mid y] = \mu + K (y - A\mu), \qquad
\operatorname{Cov}[h \mid y] = C - K S K^H,
$$

and the evidence is $y \sim \mathcal{CN}(A\mu, S)$. The gain and the
posterior covariance do not depend on $y$; they are computed once.

References
----------
S. M. Kay, *Fundamentals of Statistical Signal Processing: Estimation
Theory*, 1993, Theorem 10.3 (complex form: Section 15.8).
"""

from __future__ import annotations

import copy
import functools
from dataclasses import dataclass, field

import numpy as np
from scipy.linalg import solve_triangular

from .._deprecation import deprecated_alias, renamed_keyword
from .._repr import summary_repr
from .._validation import as_array, as_generator, check_int, check_psd, readonly
from .observation import LinearObservation
from .sampler import pilot_batch

__all__ = ["GaussianPosterior", "gaussian_gramian", "psd_sqrt", "standard_complex_normal"]


def standard_complex_normal(rng: np.random.Generator, shape) -> np.ndarray:
    r"""Draws of $\mathcal{CN}(0, 1)$, i.e. unit variance, shape `shape`, complex128."""
    return (rng.standard_normal(shape) + 1j * rng.standard_normal(shape)) / np.sqrt(2.0)


def psd_sqrt(M: np.ndarray, *, scale: float = 0.0) -> np.ndarray:
    """Square root $R$ with $R R^H = M$ for Hermitian PSD `M` (n, n).

    Eigenvalues below `10 n eps max(lambda_max, scale)` are round-off and set
    to zero, so draws from a singular covariance stay (to machine precision)
    in its range. Pass the scale of the matrices `M` was computed from (e.g.
    the prior covariance's trace for a posterior covariance) when cancellation
    has left round-off larger than `M`'s own eigenvalues suggest.
    """
    lam, V = np.linalg.eigh(M)
    ref = max(float(np.max(np.abs(lam), initial=0.0)), scale)
    tol = 10.0 * M.shape[-1] * np.finfo(float).eps * ref
    return V * np.sqrt(np.where(lam > tol, lam, 0.0))


def gaussian_gramian(mean, cov, channel_shape) -> np.ndarray:
    r"""Exact $\mathbb{E}[H^H H]$ of a complex Gaussian matrix.

    $$
    \mathbb{E}[H^H H]_{jk} = \sum_i \overline{M_{ij}} M_{ik}
    + \sum_i \operatorname{Cov}(H_{ik}, H_{ij})
    $$

    Parameters
    ----------
    mean : ndarray, shape (..., *channel_shape), complex
        Mean $M$ of the channel; `channel_shape = (*prefix, n_rx, n_tx)`.
    cov : ndarray, shape (n_channel, n_channel), complex
        Covariance of `vec(H)` (row-major), shared by every leading index.
    channel_shape : tuple of int
        At least two axes; the last two are `(n_rx, n_tx)`.

    Returns
    -------
    ndarray, shape (..., *prefix, n_tx, n_tx), complex128
        One Gramian per prefix index (e.g. per subcarrier).
    """
    *prefix, n_rx, n_tx = channel_shape
    n_prefix = int(np.prod(prefix, dtype=int))
    C6 = cov.reshape(n_prefix, n_rx, n_tx, n_prefix, n_rx, n_tx)
    # Repeated indices take the diagonal: same prefix slot p and same receive row i.
    spread = np.einsum("pikpij->pjk", C6).reshape(*prefix, n_tx, n_tx)
    return np.einsum("...ij,...ik->...jk", mean.conj(), mean) + spread


@dataclass(frozen=True, eq=False)
class GaussianPosterior:
    r"""Exact posterior sampler for a complex Gaussian channel prior.

    Implements [`beamopt.PosteriorSampler`][].

    Parameters
    ----------
    prior_cov : array_like, shape (n_channel, n_channel), complex
        Prior covariance $C$ of `H.reshape(-1)`, Hermitian PSD.
    pilot_model : LinearObservation
        Pilot model $y = A\,\operatorname{vec}(H) + n$; fixes
        `channel_shape`. (Its old name `observation=` is accepted, with a
        `DeprecationWarning`, until beamopt 0.3.)
    prior_mean : array_like, shape channel_shape, complex, optional
        Prior mean $\mu$ (zero by default).

    Notes
    -----
    Posterior draws use a square root of the posterior covariance from its
    eigendecomposition (`psd_sqrt`), so singular posteriors (low-rank
    priors) are fine and their draws stay in the range of the covariance.
    """

    prior_cov: np.ndarray
    pilot_model: LinearObservation
    prior_mean: np.ndarray | None = None
    _gain: np.ndarray = field(init=False, repr=False)
    _cov: np.ndarray = field(init=False, repr=False)
    _sqrt: np.ndarray = field(init=False, repr=False)
    _chol: np.ndarray = field(init=False, repr=False)

    __repr__ = summary_repr

    def __post_init__(self) -> None:
        set_ = object.__setattr__
        obs = self.pilot_model
        if not isinstance(obs, LinearObservation):
            raise ValueError(f"pilot_model must be a LinearObservation; got {type(obs).__name__}")
        n = obs.n_channel
        C = as_array(self.prior_cov, "prior_cov", dtype=complex, ndim=2)
        if C.shape != (n, n):
            raise ValueError(f"prior_cov must have shape ({n}, {n}); got {C.shape}")
        check_psd(C, "prior_cov")
        C = 0.5 * (C + C.conj().T)
        mu = np.zeros(obs.channel_shape, complex) if self.prior_mean is None else self.prior_mean
        mu = as_array(mu, "prior_mean", dtype=complex)
        if mu.shape != obs.channel_shape:
            raise ValueError(f"prior_mean must have shape {obs.channel_shape}; got {mu.shape}")
        A = obs.A
        AC = A @ C
        S = AC @ A.conj().T + obs.noise_var * np.eye(obs.n_obs)
        L = np.linalg.cholesky(S)
        # K^H = S^{-1} A C, by two triangular solves (S = L L^H).
        Kh = solve_triangular(L.conj().T, solve_triangular(L, AC, lower=True), lower=False)
        post = C - Kh.conj().T @ AC
        post = 0.5 * (post + post.conj().T)
        set_(self, "prior_cov", readonly(C))
        set_(self, "prior_mean", readonly(mu))
        set_(self, "_gain", readonly(Kh.conj().T))
        set_(self, "_cov", readonly(post))
        set_(self, "_sqrt", readonly(psd_sqrt(post, scale=float(np.trace(C).real))))
        set_(self, "_chol", readonly(L))

    def with_prior_mean(self, prior_mean) -> GaussianPosterior:
        """The same posterior for another prior mean, reusing every `y`-free quantity.

        The gain, the posterior covariance and its square root do not depend
        on the prior mean, so mixtures whose components share a covariance
        (e.g. phase-rotated copies of one mean) condition it only once.

        Parameters
        ----------
        prior_mean : array_like, shape channel_shape, complex

        Returns
        -------
        GaussianPosterior
        """
        mu = as_array(prior_mean, "prior_mean", dtype=complex)
        if mu.shape != self.channel_shape:
            raise ValueError(f"prior_mean must have shape {self.channel_shape}; got {mu.shape}")
        out = copy.copy(self)
        object.__setattr__(out, "prior_mean", readonly(mu))
        return out

    observation = deprecated_alias("pilot_model", "observation")

    @property
    def channel_shape(self) -> tuple[int, ...]:
        """Shape of one channel draw."""
        return self.pilot_model.channel_shape

    @property
    def covariance(self) -> np.ndarray:
        """Posterior covariance of `vec(H)`, shape (n_channel, n_channel), complex128.

        It does not depend on the observed values.
        """
        return self._cov

    @property
    def covariance_root(self) -> np.ndarray:
        """Square root $R$ with $R R^H$ equal to `covariance`.

        Shape (n_channel, n_channel), complex128.
        """
        return self._sqrt

    @functools.cached_property
    def prior_root(self) -> np.ndarray:
        """Square root $R$ with $R R^H$ equal to `prior_cov`, shape (n_channel, n_channel).

        Computed on first use (one eigendecomposition) and kept, so repeated prior draws
        do not redo it.
        """
        return readonly(psd_sqrt(self.prior_cov))

    @property
    def gain(self) -> np.ndarray:
        """LMMSE gain $K = C A^H S^{-1}$, shape (n_channel, n_obs), complex128."""
        return self._gain

    @renamed_keyword("observation", "y")
    def mean(self, y) -> np.ndarray:
        r"""Exact posterior mean (the CME) $\mu + K(y - A\mu)$.

        Parameters
        ----------
        y : array_like, shape (..., n_obs), complex
            One or several received pilot vectors (torch tensors accepted).

        Returns
        -------
        ndarray, shape (..., *channel_shape), complex128
        """
        y = self.pilot_model.check_observation(y)
        mu = self.prior_mean.reshape(-1)
        h = mu + (y - self.pilot_model.A @ mu) @ self._gain.T
        return h.reshape(*y.shape[:-1], *self.channel_shape)

    @renamed_keyword("observation", "y")
    def log_evidence(self, y) -> np.ndarray:
        r"""Log marginal likelihood $\log \mathcal{CN}(y; A\mu, S)$.

        Parameters
        ----------
        y : array_like, shape (..., n_obs), complex

        Returns
        -------
        float or ndarray, shape (...)
        """
        y = self.pilot_model.check_observation(y)
        m = y.shape[-1]
        n_batch = int(np.prod(y.shape[:-1], dtype=int))
        r = (y - self.pilot_model.A @ self.prior_mean.reshape(-1)).reshape(n_batch, m)
        w = solve_triangular(self._chol, r.T, lower=True)
        logdet = 2.0 * np.sum(np.log(np.diag(self._chol).real))
        out = -m * np.log(np.pi) - logdet - np.sum(np.abs(w) ** 2, axis=0)
        return out.reshape(y.shape[:-1])[()]

    @renamed_keyword("observation", "y")
    def expected_gramian(self, y) -> np.ndarray:
        r"""Exact posterior Gramian $\mathbb{E}[H^H H \mid y]$.

        Parameters
        ----------
        y : array_like, shape (..., n_obs), complex

        Returns
        -------
        ndarray, shape (..., *channel_shape[:-2], n_tx, n_tx), complex128
        """
        if len(self.channel_shape) < 2:
            raise ValueError("expected_gramian needs channel_shape (..., n_rx, n_tx)")
        return gaussian_gramian(self.mean(y), self._cov, self.channel_shape)

    @renamed_keyword("observation", "y")
    def sample(self, y, n_samples: int, *, seed=None) -> np.ndarray:
        r"""Draw from $p(H \mid y)$, for one received pilot vector or a batch of them.

        Parameters
        ----------
        y : array_like, shape (n_obs,) or (B, n_obs), complex
            One received pilot vector, or a batch of `B` of them.
        n_samples : int
            Number of i.i.d. draws per pilot vector, >= 1.
        seed : None, int or numpy.random.Generator

        Returns
        -------
        ndarray, shape (n_samples, *channel_shape) or (B, n_samples, *channel_shape), complex128
        """
        Y, batched = pilot_batch(y, (self.pilot_model.n_obs,))
        n_samples = check_int(n_samples, "n_samples")
        n = self.pilot_model.n_channel
        z = standard_complex_normal(as_generator(seed), (len(Y), n_samples, n))
        out = self.mean(Y)[:, None] + (z @ self._sqrt.T).reshape(
            len(Y), n_samples, *self.channel_shape
        )
        return out if batched else out[0]

    def sample_prior(self, n_samples: int, *, seed=None) -> np.ndarray:
        r"""Draw channels from the prior $\mathcal{CN}(\mu, C)$.

        Returns
        -------
        ndarray, shape (n_samples, *channel_shape), complex128
        """
        n_samples = check_int(n_samples, "n_samples")
        z = standard_complex_normal(as_generator(seed), (n_samples, self.pilot_model.n_channel))
        return self.prior_mean + (z @ self.prior_root.T).reshape(n_samples, *self.channel_shape)


GaussianPosterior.__init__ = renamed_keyword("observation", "pilot_model")(
    GaussianPosterior.__init__
)
