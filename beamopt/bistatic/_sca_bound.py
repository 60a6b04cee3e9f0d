r"""Certified upper bound on the DoA information of the superposition design, any number of users.

The feasible gains $(w, s) = (\hat a^H \sum_k \tilde W_k \hat a,\ \hat a^H \tilde R \hat a)$
form a convex planar set $\mathcal A$ for any number of users (a linear image of the
convex feasible set: every SINR constraint is linear in the covariances), and the
information $\Phi(w, s) = \kappa s + f(\kappa w)$ is convex and non-decreasing. Every
solve of the support SDP in a direction $(\nu, c)$
([`beamopt.bistatic._sca_subproblem`][]) gives a feasible point and, by weak duality,
a half-plane $c\, s + \nu w \le D$ containing $\mathcal A$. The half-planes cut out a
polygon $\mathcal P \supseteq \mathcal A$, and the maximum of a convex function over a
polygon is at one of its vertices:

$$
\max_{\mathcal A} \Phi \;\le\; \max_{v \in \mathrm{vert}\,\mathcal P} \Phi(v).
$$

The search (outer approximation) probes the direction $\nu_v = f'(\kappa w_v)$ of the
best vertex $v$ (the gradient of $\Phi$ there, which lies in the vertex's normal cone):
the new half-plane either cuts $v$ off or exposes a point at least as good as $v$ up to
the solver's duality gap. It stops when the bound is within `rtol` of the best
feasible point. The SCA iterates themselves are support solves, so their half-planes
are reused.
"""

from __future__ import annotations

import numpy as np

from . import _frontier as fr

__all__ = ["polygon_bound", "certify"]


def polygon_bound(lines, kappa: float, n_rx: int):
    r"""Largest $\Phi$ over the vertices of $\{0 \le w, s \le 1,\ c_i s + \nu_i w \le D_i\}$.

    Parameters
    ----------
    lines : sequence of (nu, c, D)
        Half-planes, `c` in {0, 1}; `c = 0` lines bound `w` alone.
    Returns
    -------
    upper : float
    vertex : (w, s)
    bracket : (nu_lo, nu_hi)
        Directions of the two half-planes meeting at the vertex (`inf` for the box).
    """
    cut = [(nu, d) for nu, c, d in lines if c > 0]
    w_max = min([1.0] + [d / nu for nu, c, d in lines if c == 0 and nu > 0])
    nus = np.array([0.0] + [nu for nu, _ in cut])
    ds = np.array([1.0] + [d for _, d in cut])  # the box's s <= 1 as the line nu = 0

    def s_at(w):
        return np.min(ds - nus * w)

    cands = [(0.0, 0.0, 0.0), (w_max, -1.0, np.inf)]  # (w, nu_lo, nu_hi)
    i, j = np.triu_indices(nus.size, 1)
    dn = nus[j] - nus[i]
    with np.errstate(divide="ignore", invalid="ignore"):
        wx = (ds[j] - ds[i]) / dn
    ok = (dn != 0) & (wx >= 0) & (wx <= w_max)
    cands += [(float(x), float(min(a, b)), float(max(a, b)))
              for x, a, b in zip(wx[ok], nus[i][ok], nus[j][ok])]  # fmt: skip
    pos = nus > 0
    cands += [(float(x), float(n), np.inf) for x, n in zip(ds[pos] / nus[pos], nus[pos])
              if x <= w_max]  # fmt: skip
    best = (-np.inf, (0.0, 0.0), (0.0, 0.0))
    for w, lo, hi in cands:
        s = s_at(w)
        if s < -1e-15:
            continue
        phi = float(fr.information_shape(w, max(s, 0.0), kappa, n_rx))
        if phi > best[0]:
            if lo < 0:  # the w <= w_max face: the line active at w_max is the lower side
                lo = float(nus[np.argmin(ds - nus * w)])
            best = (phi, (w, max(s, 0.0)), (lo, hi))
    return best


def certify(
    oracle, lines, best_phi: float, kappa: float, n_rx: int, rtol: float, max_solves, extra=()
):
    """Outer-approximation search; `oracle(nu, c) -> (D, phi, payload)`.

    `lines` (list of (nu, c, D) from support solves) is extended in place; `extra` are
    further valid half-planes that were not probes (they bound the polygon but do not
    count as probed directions). Returns the certified upper bound, the best oracle
    payload that beat `best_phi` (or None) with its phi, and the number of oracle calls.
    """
    best_payload, solves = None, 0
    if not any(c == 0 for _, c, _ in lines) and solves < max_solves:
        D, phi, payload = oracle(1.0, 0.0)
        lines.append((1.0, 0.0, D))
        solves += 1
        if phi > best_phi:
            best_phi, best_payload = phi, payload
    while True:
        upper, (w, _), (lo, hi) = polygon_bound([*lines, *extra], kappa, n_rx)
        if upper <= best_phi * (1.0 + rtol) or solves >= max_solves:
            return max(upper, best_phi), best_payload, best_phi, solves
        probe = float(fr.slope(w, kappa, n_rx))
        probed = np.array([nu for nu, c, _ in lines if c > 0])
        if probed.size and np.min(np.abs(probed - probe)) <= 1e-12 * max(probe, 1e-3):
            if not np.isfinite(hi):
                return max(upper, best_phi), best_payload, best_phi, solves
            probe = 0.5 * (lo + hi)
            if np.min(np.abs(probed - probe)) <= 1e-12 * max(probe, 1e-3):
                return max(upper, best_phi), best_payload, best_phi, solves
        D, phi, payload = oracle(probe, 1.0)
        lines.append((probe, 1.0, D))
        solves += 1
        if phi > best_phi:
            best_phi, best_payload = phi, payload
