r"""Branch and bound over the boundary of a planar convex gain region ("sandwich" search).

Used by [`beamopt.superposition_design`][beamopt.bistatic.superposition.superposition_design]. The
boundary of the gain region $\mathcal A$ is known through exposed points: the point maximising
$s + \nu w$ and an upper bound $D(\nu)$ on that maximum
(`beamopt.bistatic._frontier.frontier_point`). Between two exposed points the boundary
lies under both supporting lines, so the convex objective $\Phi(w, s)$ is
bounded on that arc by its value at a vertex of the cut-off triangle. Intervals of
$\nu$ that cannot beat the incumbent by more than `rtol` are dropped, the
rest are split. All (target, interval) pairs of a round form one numpy batch.
"""

from __future__ import annotations

import numpy as np

from . import _frontier as fr

__all__ = ["Search", "run_search"]

_SPLIT = 4  # children per refined interval
_MIN_WIDTH = 1e-12  # relative width of nu-intervals below which bounds are round-off
_MAX_ACTIVE = 4096  # safety cap on live intervals per target


def _interval_bound(lo, hi, kappa, n_rx):
    """Upper bound of Phi over the boundary arc between two exposed points.

    `lo`/`hi` are (nu, w, D) triples. The arc lies under both supporting lines
    `s <= D - nu w` and within `w_lo <= w <= w_hi`; Phi is convex along that
    two-piece chain, so its maximum is at an end or at the lines' intersection.
    """
    (nu0, w0, d0), (nu1, w1, d1) = lo, hi
    a, b = np.minimum(w0, w1), np.maximum(w0, w1)
    with np.errstate(divide="ignore", invalid="ignore"):
        apex = np.clip((d1 - d0) / (nu1 - nu0), a, b)
    apex = np.where(np.isfinite(apex), apex, b)
    chain = [(x, np.minimum(d0 - nu0 * x, d1 - nu1 * x)) for x in (a, apex, b)]
    return np.max([fr.information_shape(x, s, kappa, n_rx) for x, s in chain], axis=0)


class Search:
    """Branch-and-bound state, flat over (target, interval) pairs."""

    def __init__(self, rho, sigma, gamma, beta, beta_c, kappa, n_rx):
        self.geo = (rho, sigma)
        self.targets = (gamma, beta, beta_c)
        self.kappa, self.n_rx = kappa, n_rx
        self.evaluations = np.zeros(gamma.size, dtype=int)

    def evaluate(self, tid, nu):
        p = fr.frontier_point(nu, *self.geo, *(x[tid] for x in self.targets))
        np.add.at(self.evaluations, tid, 1)
        phi = fr.information_shape(p.w, p.s, self.kappa, self.n_rx)
        return phi, (nu, p.w, np.maximum(p.dual, p.s + nu * p.w))

    def improve(self, best, best_nu, tid, nu, phi):
        """Keep, per target, the largest Phi seen and the nu that gave it."""
        top = np.full(best.size, -np.inf)
        np.maximum.at(top, tid, phi)
        hit = phi == top[tid]
        t, first = np.unique(tid[hit], return_index=True)
        nu_hit = nu[hit][first]
        better = top[t] > best[t]
        best[t[better]] = top[t[better]]
        best_nu[t[better]] = nu_hit[better]


def run_search(search, nu_max, rtol, n_initial, max_rounds):
    """Certify max Phi for every target; `nu_max` has shape (n_targets,).

    Returns the best Phi and its direction nu per target, a certified upper bound
    per target and the number of refinement rounds.
    """
    n = nu_max.size
    K = n_initial + 1
    tid = np.repeat(np.arange(n), K)
    nu = (np.linspace(0.0, 1.0, K)[None, :] * nu_max[:, None]).ravel()
    phi, node = search.evaluate(tid, nu)
    best, best_nu = np.full(n, -np.inf), np.zeros(n)
    search.improve(best, best_nu, tid, nu, phi)
    first = np.ones(tid.size, bool)
    first[K - 1 :: K] = False  # each node except a target's last one starts an interval
    lo = tuple(x[first] for x in node)
    hi = tuple(x[np.roll(first, 1)] for x in node)
    itid = tid[first]
    upper = np.zeros(n)  # largest bound among discarded intervals
    rounds = 0
    while True:
        ub = _interval_bound(lo, hi, search.kappa, search.n_rx)
        # intervals at the round-off floor are not split further; their bound stays
        wide = hi[0] - lo[0] > _MIN_WIDTH * nu_max[itid]
        keep = (ub > best[itid] * (1.0 + rtol)) & wide
        np.maximum.at(upper, itid[~keep], ub[~keep])
        if not np.any(keep) or rounds >= max_rounds or keep.sum() > _MAX_ACTIVE * n:
            np.maximum.at(upper, itid[keep], ub[keep])
            break
        rounds += 1
        lo, hi, itid = (tuple(x[keep] for x in lo), tuple(x[keep] for x in hi), itid[keep])
        frac = np.arange(1, _SPLIT)[None, :] / _SPLIT
        nu_new = lo[0][:, None] + frac * (hi[0] - lo[0])[:, None]  # (m, _SPLIT-1)
        tid_new = np.repeat(itid, _SPLIT - 1)
        phi, node = search.evaluate(tid_new, nu_new.ravel())
        search.improve(best, best_nu, tid_new, nu_new.ravel(), phi)
        node = tuple(x.reshape(nu_new.shape) for x in node)
        # children: [lo, n1], [n1, n2], ..., [n_last, hi]
        lo = tuple(np.column_stack([a, b]).ravel() for a, b in zip(lo, node))
        hi = tuple(np.column_stack([b, c]).ravel() for b, c in zip(node, hi))
        itid = np.repeat(itid, _SPLIT)
    return best, best_nu, np.maximum(upper, best), rounds
