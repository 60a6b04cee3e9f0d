r"""Exact posterior of a Gaussian-mixture channel prior under the linear pilot model.

A mixture prior is the simplest multi-modal channel model (e.g. a user whose
dominant scattering clusters depend on an unknown position):

$$
p(h) = \sum_{k=1}^K \pi_k\, \mathcal{CN}(h; \mu_k, C_k).
$$

Under $y = A h + n$ each component is conditioned exactly as in
[`beamopt.GaussianPosterior`][], and the posterior is again a mixture whose
weights are the prior weights times the component evidences,

$$
p(h \mid y) = \sum_k w_k(y)\, \mathcal{CN}(h; \mu_{k|y}, C_{k|y}),
\qquad
w_k(y) = \frac{\pi_k\, \mathcal{CN}(y; A\mu_k, A C_k A^H + \sigma^2 I)}
              {\sum_j \pi_j\, \mathcal{CN}(y; A\mu_j, A C_j A^H + \sigma^2 I)}.
$$

Its mean (the CME) averages the component means, so when the weights are
spread the CME can be a channel that no component would produce; this is the
structural collapse that makes plug-in precoding suffer a Jensen gap.

References
----------
*A Perception vs. Distortion Perspective on Score-Based Generative Channel Estimation*, Section IV-B
and Section VII-C; C. M. Bishop, *Pattern Recognition and Machine Learning*, 2006, Section 2.3.3 and
eq. (9.13).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from scipy.special import logsumexp, softmax

from .._deprecation import deprecated_alias, renamed_keyword
from .._repr import summary_repr
from .._validation import as_array, as_generator, check_int, readonly
from .gaussian import GaussianPosterior, standard_complex_normal
from .observation import LinearObservation
from .sampler import pilot_batch

__all__ = ["GaussianMixturePosterior"]


@dataclass(frozen=True, eq=False)
class GaussianMixturePosterior:
    r"""Exact posterior sampler for a Gaussian-mixture channel prior.

    Implements [`beamopt.PosteriorSampler`][].

    Parameters
    ----------
    weights : array_like, shape (n_components,), float
        Prior weights $\pi_k > 0$, summing to one.
    means : array_like, shape (n_components, *channel_shape), complex
        Component means $\mu_k$.
    covariances : array_like, shape (n_components, n_channel, n_channel), complex
        Component covariances $C_k$ of `vec(H)`, Hermitian PSD.
    pilot_model : LinearObservation
        Pilot model $y = A\,\operatorname{vec}(H) + n$; fixes `channel_shape`. (Its old
        name `observation=` is accepted, with a `DeprecationWarning`, until beamopt 0.3.)

    Attributes
    ----------
    components : tuple of GaussianPosterior
        The conditioned components (their gains and posterior covariances do
        not depend on the observed values).
    """

    weights: np.ndarray
    means: np.ndarray
    covariances: np.ndarray
    pilot_model: LinearObservation
    components: tuple[GaussianPosterior, ...] = field(init=False, repr=False)

    __repr__ = summary_repr

    def __post_init__(self) -> None:
        set_ = object.__setattr__
        if not isinstance(self.pilot_model, LinearObservation):
            raise ValueError(
                f"pilot_model must be a LinearObservation; got {type(self.pilot_model).__name__}"
            )
        w = as_array(self.weights, "weights", dtype=float, ndim=1)
        if w.size == 0 or np.any(w <= 0) or abs(w.sum() - 1.0) > 1e-8:
            raise ValueError(f"weights must be > 0 and sum to 1; got {w}")
        shape = self.pilot_model.channel_shape
        K, n = w.size, self.pilot_model.n_channel
        means = as_array(self.means, "means", dtype=complex)
        if means.shape != (K, *shape):
            raise ValueError(f"means must have shape {(K, *shape)}; got {means.shape}")
        covs = as_array(self.covariances, "covariances", dtype=complex)
        if covs.shape != (K, n, n):
            raise ValueError(f"covariances must have shape {(K, n, n)}; got {covs.shape}")
        # Components sharing a covariance share its (mean-independent) conditioning.
        conditioned: dict[bytes, GaussianPosterior] = {}
        comps = []
        for k in range(K):
            key = np.ascontiguousarray(covs[k]).tobytes()
            if key not in conditioned:
                conditioned[key] = GaussianPosterior(covs[k], self.pilot_model)
            comps.append(conditioned[key].with_prior_mean(means[k]))
        comps = tuple(comps)
        set_(self, "weights", readonly(w / w.sum()))
        set_(self, "means", readonly(means))
        set_(self, "covariances", readonly(np.stack([c.prior_cov for c in comps])))
        set_(self, "components", comps)

    observation = deprecated_alias("pilot_model", "observation")

    @property
    def channel_shape(self) -> tuple[int, ...]:
        """Shape of one channel draw."""
        return self.pilot_model.channel_shape

    @property
    def n_components(self) -> int:
        """Number of mixture components $K$."""
        return self.weights.size

    def _log_joint(self, y) -> np.ndarray:
        y = self.pilot_model.check_observation(y)
        logs = [c.log_evidence(y) for c in self.components]
        return np.log(self.weights) + np.stack(np.broadcast_arrays(*logs), axis=-1)

    @renamed_keyword("observation", "y")
    def posterior_weights(self, y) -> np.ndarray:
        """Posterior component probabilities $w_k(y)$.

        Parameters
        ----------
        y : array_like, shape (..., n_obs), complex

        Returns
        -------
        ndarray, shape (..., n_components), float
            Non-negative, summing to one along the last axis.
        """
        return softmax(self._log_joint(y), axis=-1)

    @renamed_keyword("observation", "y")
    def log_evidence(self, y) -> np.ndarray:
        r"""Log marginal likelihood $\log \sum_k \pi_k p_k(y)$, shape (...)."""
        return logsumexp(self._log_joint(y), axis=-1)[()]

    def _weighted(self, y, per_component) -> np.ndarray:
        w = self.posterior_weights(y)
        stacked = np.stack([per_component(c) for c in self.components], axis=w.ndim - 1)
        extra = stacked.ndim - w.ndim
        return np.sum(w.reshape(*w.shape, *([1] * extra)) * stacked, axis=w.ndim - 1)

    @renamed_keyword("observation", "y")
    def mean(self, y) -> np.ndarray:
        r"""Exact posterior mean (the CME) $\sum_k w_k(y)\, \mu_{k|y}$.

        Parameters
        ----------
        y : array_like, shape (..., n_obs), complex

        Returns
        -------
        ndarray, shape (..., *channel_shape), complex128
        """
        y = self.pilot_model.check_observation(y)
        return self._weighted(y, lambda c: c.mean(y))

    @renamed_keyword("observation", "y")
    def covariance(self, y) -> np.ndarray:
        r"""Exact posterior covariance of `vec(H)`.

        $$
        \sum_k w_k \left(C_{k|y} + \mu_{k|y}\mu_{k|y}^H\right) - \bar\mu\bar\mu^H
        $$

        Parameters
        ----------
        y : array_like, shape (..., n_obs), complex

        Returns
        -------
        ndarray, shape (..., n_channel, n_channel), complex128
        """
        y = self.pilot_model.check_observation(y)
        n = self.pilot_model.n_channel

        def second_moment(c):
            m = c.mean(y).reshape(*y.shape[:-1], n)
            return c.covariance + m[..., :, None] * m[..., None, :].conj()

        m = self.mean(y).reshape(*y.shape[:-1], n)
        return self._weighted(y, second_moment) - m[..., :, None] * m[..., None, :].conj()

    @renamed_keyword("observation", "y")
    def expected_gramian(self, y) -> np.ndarray:
        r"""Exact posterior Gramian $\sum_k w_k(y)\, \mathbb{E}_k[H^H H \mid y]$.

        Parameters
        ----------
        y : array_like, shape (..., n_obs), complex

        Returns
        -------
        ndarray, shape (..., *channel_shape[:-2], n_tx, n_tx), complex128
        """
        y = self.pilot_model.check_observation(y)
        return self._weighted(y, lambda c: c.expected_gramian(y))

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
        means = np.stack([c.mean(Y) for c in self.components], axis=1)  # (B, K, *shape)
        roots = [c.covariance_root for c in self.components]
        out = self._draw(self.posterior_weights(Y), means, roots, n_samples, seed)
        return out if batched else out[0]

    def sample_prior(self, n_samples: int, *, seed=None) -> np.ndarray:
        """Draw channels from the mixture prior.

        Returns
        -------
        ndarray, shape (n_samples, *channel_shape), complex128
        """
        roots = [c.prior_root for c in self.components]
        return self._draw(self.weights[None], self.means[None], roots, n_samples, seed)[0]

    def _draw(self, weights, means, roots, n_samples, seed) -> np.ndarray:
        """Draws for each row of `weights` (B, K) and `means` (B, K, *shape): (B, n, *shape)."""
        rng = as_generator(seed)
        n_samples = check_int(n_samples, "n_samples")
        B, n = weights.shape[0], self.pilot_model.n_channel
        # Labels are drawn i.i.d. per sample (not grouped by component), so any prefix of
        # the output is itself an i.i.d. draw; the inverse CDF of one uniform per draw is
        # what Generator.choice(p=...) does, so one observation draws as before.
        cdf = np.cumsum(weights, axis=-1)
        cdf /= cdf[:, -1:]
        u = rng.random((B, n_samples))
        labels = np.minimum((u[..., None] >= cdf[:, None, :]).sum(-1), self.n_components - 1)
        z = standard_complex_normal(rng, (B, n_samples, n))
        flat_means = means.reshape(B, self.n_components, n)
        out = np.empty((B, n_samples, n), complex)
        for k in np.unique(labels):
            sel = labels == k
            rows = np.nonzero(sel)[0]
            out[sel] = flat_means[rows, k] + z[sel] @ roots[k].T
        return out.reshape(B, n_samples, *self.channel_shape)


GaussianMixturePosterior.__init__ = renamed_keyword("observation", "pilot_model")(
    GaussianMixturePosterior.__init__
)
