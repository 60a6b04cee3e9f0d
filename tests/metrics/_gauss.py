"""Exact Gaussian references shared by the metrics tests (independent of the code under test)."""

import numpy as np


def smoothed_gaussian_score(mean, cov):
    mean, cov = np.asarray(mean, float), np.asarray(cov, float)
    eye = np.eye(mean.size)

    def score(x, sigma):
        C = cov[None] + (np.asarray(sigma, float) ** 2)[:, None, None] * eye[None]
        return -np.linalg.solve(C, (x - mean)[:, :, None])[:, :, 0]

    return score


def gaussian_kl(m1, C1, m2, C2):
    C2i = np.linalg.inv(C2)
    d = m2 - m1
    return 0.5 * (
        np.trace(C2i @ C1) + d @ C2i @ d - len(m1) + np.log(np.linalg.det(C2) / np.linalg.det(C1))
    )
