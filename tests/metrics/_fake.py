"""Numpy stand-ins for trained parameter scores: exact Gaussian scores with a known error.

A `LinearScore` is $\\hat s(\\theta) = -(C^{-1} + \\Delta)(\\theta - \\mu)$: the exact score of
$\\mathcal N(\\mu, C)$ when $\\Delta = 0$, and a "trained" one with error $-\\Delta(\\theta-\\mu)$
otherwise, so every Fisher-information estimator has a closed-form expectation.
"""

import numpy as np

from beamopt.metrics._checks import data_fingerprint


class LinearScore:
    objective = "ism"
    noise_conditional = False
    classifier_free = False
    cond_dim = 0
    history = None

    def __init__(self, mean, cov, delta=None, *, held_out_rows=None, samples=None):
        self.mean = np.asarray(mean, float)
        self.dim = self.mean.size
        self.A = np.linalg.inv(np.asarray(cov, float))
        if delta is not None:
            self.A = self.A + np.asarray(delta, float)
        self.held_out_rows = held_out_rows
        self.data_fingerprint = None if samples is None else data_fingerprint(samples, None)

    def score(self, theta, condition=None):
        return -(np.asarray(theta) - self.mean) @ self.A.T

    def score_jacobian(self, theta, condition=None):
        return np.broadcast_to(-self.A, (len(theta), self.dim, self.dim)).copy()


def symmetric_noise(rng, d, tau):
    E = rng.normal(0.0, tau, (d, d))
    return 0.5 * (E + E.T)
