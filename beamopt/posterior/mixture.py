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

from .._repr import summary_repr
from .._validation import as_array, as_generator, check_int, readonly
from .gaussian import GaussianPosterior, standard_complex_normal
from .observation import LinearObservation

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
    observation : LinearObservation
        Pilot model; fixes `channel_shape`.

    Attributes
    ----------
    components : tuple of GaussianPosterior
        The conditioned components (their gains and posterior covariances do
        not depend on the observed values).
    """

    weights: np.ndarray
    means: np.ndarray
    covariances: np.ndarray
    observation: LinearObservation
    components: tuple[GaussianPosterior, ...] = field(init=False, repr=False)

    __repr__ = summary_repr

    def __post_init__(self) -> None:
        set_ = object.__setattr__
        if not isinstance(self.observation, LinearObservation):
            raise ValueError(
                f"observation must be a LinearObservation; got {type(self.observation).__name__}"
            )
        w = as_array(self.weights, "weights", dtype=float, ndim=1)
        if w.size == 0 or np.any(w <= 0) or abs(w.sum() - 1.0) > 1e-8:
            raise ValueError(f"weights must be > 0 and sum to 1; got {w}")
        shape = self.observation.channel_shape
        K, n = w.size, self.observation.n_channel
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
                conditioned[key] = GaussianPosterior(covs[k], self.observation)
            comps.append(conditioned[key].with_prior_mean(means[k]))
        comps = tuple(comps)
        set_(self, "weights", readonly(w / w.sum()))
        set_(self, "means", readonly(means))
        set_(self, "covariances", readonly(np.stack([c.prior_cov for c in comps])))
        set_(self, "components", comps)

    @property
    def channel_shape(self) -> tuple[int, ...]:
        """Shape of one channel draw."""
        return self.observation.channel_shape

    @property
    def n_components(self) -> int:
        """Number of mixture components $K$."""
        return self.weights.size

    def _log_joint(self, observation) -> np.ndarray:
        y = self.observation.check_observation(observation)
        logs = [c.log_evidence(y) for c in self.components]
        return np.log(self.weights) + np.stack(np.broadcast_arrays(*logs), axis=-1)

    def posterior_weights(self, observation) -> np.ndarray:
        """Posterior component probabilities $w_k(y)$.

        Parameters
        ----------
        observation : array_like, shape (..., n_obs), complex

        Returns
        -------
        ndarray, shape (..., n_components), float
            Non-negative, summing to one along the last axis.
        """
        return softmax(self._log_joint(observation), axis=-1)

    def log_evidence(self, observation) -> np.ndarray:
        r"""Log marginal likelihood $\log \sum_k \pi_k p_k(y)$, shape (...)."""
        return logsumexp(self._log_joint(observation), axis=-1)[()]

    def _weighted(self, observation, per_component) -> np.ndarray:
        w = self.posterior_weights(observation)
        stacked = np.stack([per_component(c) for c in self.components], axis=w.ndim - 1)
        extra = stacked.ndim - w.ndim
        return np.sum(w.reshape(*w.shape, *([1] * extra)) * stacked, axis=w.ndim - 1)

    def mean(self, observation) -> np.ndarray:
        r"""Exact posterior mean (the CME) $\sum_k w_k(y)\, \mu_{k|y}$.

        Parameters
        ----------
        observation : array_like, shape (..., n_obs), complex

        Returns
        -------
        ndarray, shape (..., *channel_shape), complex128
        """
        y = self.observation.check_observation(observation)
        return self._weighted(y, lambda c: c.mean(y))

    def covariance(self, observation) -> np.ndarray:
        r"""Exact posterior covariance of `vec(H)`.

        $$
        \sum_k w_k \left(C_{k|y} + \mu_{k|y}\mu_{k|y}^H\right) - \bar\mu\bar\mu^H
        $$

        Parameters
        ----------
        observation : array_like, shape (..., n_obs), complex

        Returns
        -------
        ndarray, shape (..., n_channel, n_channel), complex128
        """
        y = self.observation.check_observation(observation)
        n = self.observation.n_channel

        def second_moment(c):
            m = c.mean(y).reshape(*y.shape[:-1], n)
            return c.covariance + m[..., :, None] * m[..., None, :].conj()

        m = self.mean(y).reshape(*y.shape[:-1], n)
        return self._weighted(y, second_moment) - m[..., :, None] * m[..., None, :].conj()

    def expected_gramian(self, observation) -> np.ndarray:
        r"""Exact posterior Gramian $\sum_k w_k(y)\, \mathbb{E}_k[H^H H \mid y]$.

        Parameters
        ----------
        observation : array_like, shape (..., n_obs), complex

        Returns
        -------
        ndarray, shape (..., *channel_shape[:-2], n_tx, n_tx), complex128
        """
        y = self.observation.check_observation(observation)
        return self._weighted(y, lambda c: c.expected_gramian(y))

    def sample(self, observation, n_samples: int, *, seed=None) -> np.ndarray:
        r"""Draw from $p(H \mid y)$.

        Parameters
        ----------
        observation : array_like, shape (n_obs,), complex
            One observation $y$.
        n_samples : int
            Number of i.i.d. draws, >= 1.
        seed : None, int or numpy.random.Generator

        Returns
        -------
        ndarray, shape (n_samples, *channel_shape), complex128
        """
        y = self.observation.check_observation(observation, single=True)
        means = np.stack([c.mean(y) for c in self.components])
        roots = [c.covariance_root for c in self.components]
        return self._draw(self.posterior_weights(y), means, roots, n_samples, seed)

    def sample_prior(self, n_samples: int, *, seed=None) -> np.ndarray:
        """Draw channels from the mixture prior.

        Returns
        -------
        ndarray, shape (n_samples, *channel_shape), complex128
        """
        roots = [c.prior_root for c in self.components]
        return self._draw(self.weights, self.means, roots, n_samples, seed)

    def _draw(self, weights, means, roots, n_samples, seed) -> np.ndarray:
        rng = as_generator(seed)
        n_samples = check_int(n_samples, "n_samples")
        # Labels are drawn i.i.d. per sample (not grouped by component), so any
        # prefix of the output is itself an i.i.d. draw.
        labels = rng.choice(self.n_components, size=n_samples, p=weights)
        z = standard_complex_normal(rng, (n_samples, self.observation.n_channel))
        out = np.empty((n_samples, self.observation.n_channel), complex)
        for k in np.unique(labels):
            sel = labels == k
            out[sel] = means[k].reshape(-1) + z[sel] @ roots[k].T
        return out.reshape(n_samples, *self.channel_shape)
