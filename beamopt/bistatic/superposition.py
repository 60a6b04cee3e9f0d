r"""Certified global optimum of the superposition design with an SINR target (the CRB-rate paper's
P4).

$$
\max_{W \succeq 0,\, R_s \succeq 0}\; J_\theta \propto g_0 c_S
    + \frac{(g_0 c_W)^2 N_r}{1 + g_0 c_W N_r}
\quad\text{s.t.}\quad
\frac{h^H W h}{h^H R_s h + \sigma_c^2} \ge \gamma,\;
\mathrm{tr}(W + R_s) \le P,
$$

with $c_W = a^H W a$ and $c_S = a^H R_s a$. In normalised gains
$w = c_W/(P N_t)$, $s = c_S/(P N_t)$ the objective is
$\Phi(w, s) = \kappa s + f(\kappa w)$ with $\kappa = g_0 P N_t$ and
$f(x) = N_r x^2/(1 + N_r x)$: convex and non-decreasing in both gains. The
feasible gains form a convex set $\mathcal A$, so the problem is the
maximisation of a convex function over a convex planar set and the optimum lies on
the upper-right boundary of $\mathcal A$.

Algorithm (outer approximation, "sandwich" branch and bound over the boundary):

1. The boundary point exposed by the direction $(\nu, 1)$ and the support
   value $h(\nu)$ are available in closed form (`beamopt.bistatic._frontier`: a
   2x2 eigenproblem in span{a, h} and a quadratic), together with a dual value
   $D(\nu) \ge h(\nu)$ that bounds $\mathcal A$ rigorously.
2. The optimum $(w^*, s^*)$ maximises its own linearisation (the SCA
   surrogate is a global under-estimator), so it is exposed by
   $\nu^* = f'(\kappa w^*) \in [0, \nu_{\max}]$,
   $\nu_{\max} = f'(\kappa w_{\max})$.
3. Between two exposed points $E_i, E_{i+1}$ the boundary lies in the
   triangle cut by the two supporting lines $s + \nu_i w \le D_i$; since
   $\Phi$ is convex its maximum over the triangle is at a vertex. The
   triangle's apex bounds $\Phi$ from above, the exposed points from below.
4. Intervals of $\nu$ whose bound cannot beat the incumbent by more than
   `rtol` are discarded, the rest are split in four (`beamopt.bistatic._sandwich`);
   the triangles shrink quadratically, so some tens of closed-form evaluations
   per target certify the optimum to `rtol = 1e-10`.

The returned design is an exposed point, $W = P p\, u_w u_w^H$,
$R_s = P (1-p)\, u_r u_r^H$ (rank one each, in span{a, h}), which meets the
SINR target with equality; the certificate is `information_upper / information - 1`.

References
----------
*CRB-Rate Tradeoff for Bistatic ISAC with Gaussian Information and Deterministic Sensing Signals*,
problem (P4), eqs. (57)-(61) and Algorithm 1 (the SCA this module replaces for a single user).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

import numpy as np

from .._repr import short_repr, span
from .._validation import as_array, check_int, check_positive
from . import _frontier as fr
from . import _lowrank as lowrank
from ._sandwich import Search, run_search
from ._targets import check_single_user_reachable
from .scenario import BistaticScenario, check_scenario

__all__ = ["SuperpositionDesign", "superposition_design"]


@dataclass(frozen=True)
class SuperpositionDesign:
    r"""Certified optimal superposition designs for a batch of SINR targets (shape `S`).

    Attributes
    ----------
    snr_min : ndarray, shape S
        SINR targets $\\gamma$ (linear).
    W_factor, Rs_factor : ndarray, shape S + (n_tx, 1), complex
        Rank-one factors $V$ of the information covariance $W = V V^H$ and of the
        deterministic sensing sample covariance $R_s$ (W); the dense matrices are the
        properties `W` and `Rs`.
    crb : ndarray, shape S
        DoA CRB of the design (rad^2), equal to [`beamopt.crb_doa`][].
    crb_lower_bound : ndarray, shape S
        Certified lower bound on the optimal CRB, `1 / information_upper`.
    information, information_upper : ndarray, shape S
        DoA Fisher information of the design and a certified upper bound on the optimum.
    bound_gap : ndarray, shape S
        `information_upper / information - 1` (<= `rtol` on success).
    sinr, rate : ndarray, shape S
        Achieved SINR (linear) and rate (bit/s/Hz).
    power_fraction : ndarray, shape S
        $\mathrm{tr}\,W / P$, the share of power in the information signal.
    evaluations : ndarray, shape S, int
        Closed-form support-point evaluations spent on each target.
    rounds : int
        Refinement rounds of the branch and bound.
    rtol : float
        Requested relative tolerance on the information.
    """

    snr_min: np.ndarray
    W_factor: np.ndarray
    Rs_factor: np.ndarray
    crb: np.ndarray
    crb_lower_bound: np.ndarray
    information: np.ndarray
    information_upper: np.ndarray
    bound_gap: np.ndarray
    sinr: np.ndarray
    rate: np.ndarray
    power_fraction: np.ndarray
    evaluations: np.ndarray
    rounds: int
    rtol: float

    @cached_property
    def W(self) -> np.ndarray:
        """Information covariance $W$, shape S + (n_tx, n_tx), complex (formed on first access)."""
        return lowrank.dense(self.W_factor)

    @cached_property
    def Rs(self) -> np.ndarray:
        """Deterministic sample covariance $R_s$, shape S + (n_tx, n_tx), complex."""
        return lowrank.dense(self.Rs_factor)

    def __repr__(self) -> str:
        return short_repr(self, {
            "n_targets": self.crb.size, "n_tx": self.W_factor.shape[-2],
            "snr_min": span(self.snr_min), "crb": span(self.crb),
            "max_bound_gap": float(np.max(self.bound_gap, initial=0.0)),
            "rounds": self.rounds, "rtol": self.rtol,
        })  # fmt: skip

    @property
    def converged(self) -> bool:
        """Whether every target is certified to `rtol`."""
        return bool(np.all(self.bound_gap <= self.rtol))


def _check_targets(scenario, snr_min):
    check_scenario(scenario, single_user="method='global' (method='sca' handles several users)")
    gamma = as_array(snr_min, "snr_min", dtype=float)
    if np.any(gamma < 0):
        raise ValueError("snr_min must be >= 0 (linear SINR)")
    check_single_user_reachable(scenario, gamma)
    return gamma


def _to_factors(point, e1, e2, power):
    r"""Rank-one factors $\sqrt{P p}\, u_w$ and $\sqrt{P q}\, u_r$, shape (n, n_tx, 1)."""

    def factor(theta, weight):
        u = np.cos(theta)[..., None] * e1 + np.sin(theta)[..., None] * e2
        return lowrank.from_vector(np.sqrt(power * weight)[..., None] * u)

    return factor(point.theta_w, point.p), factor(point.theta_r, point.q)


def superposition_design(
    scenario: BistaticScenario,
    snr_min,
    *,
    rtol: float = 1e-10,
    n_initial: int = 16,
    max_rounds: int = 60,
) -> SuperpositionDesign:
    r"""Globally optimal superposition designs for one or many SINR targets.

    Parameters
    ----------
    scenario : BistaticScenario
        Single-user scenario (`n_users == 1`).
    snr_min : float or array_like, shape S
        SINR targets $\gamma$ (linear, `0 <= gamma <= P||h||^2/sigma_c^2`);
        all are solved together, vectorised.
    rtol : float
        Certified relative tolerance on the DoA information (and hence the CRB):
        the returned design's information is within a factor `1 + rtol` of the
        optimum (up to floating-point rounding, about 1e-13).
    n_initial : int
        Intervals of the initial uniform partition of $[0, \nu_{\max}]$.
    max_rounds : int
        Cap on refinement rounds; `bound_gap` reports what was certified.

    Returns
    -------
    SuperpositionDesign
        Arrays of shape S (designs, CRBs, certified bounds, SINRs, rates).

    Raises
    ------
    InfeasibleError
        If a target exceeds the largest achievable SINR $P\|h\|^2/\sigma_c^2$.
    ValueError
        For a multi-user scenario, negative targets or bad options.

    Notes
    -----
    See the module docstring for the derivation and `docs/theory/superposition.md`
    for the SCA comparison.

    Examples
    --------
    >>> import numpy as np, beamopt
    >>> sc = beamopt.BistaticScenario.default()
    >>> d = beamopt.superposition_design(sc, np.linspace(0, sc.max_snr[0], 5))
    >>> bool(np.all(d.bound_gap <= d.rtol)), d.crb.shape
    (True, (5,))
    """
    rtol = check_positive(rtol, "rtol")
    n_initial = check_int(n_initial, "n_initial", minimum=1)
    max_rounds = check_int(max_rounds, "max_rounds", minimum=0)
    gamma = _check_targets(scenario, snr_min)
    return solve_unchecked(scenario, gamma, rtol, n_initial, max_rounds)


def solve_unchecked(scenario, gamma, rtol=1e-10, n_initial=16, max_rounds=60):
    """Core of [`superposition_design`][beamopt.superposition_design] for checked inputs.

    `scenario` is a single-user [`BistaticScenario`][beamopt.BistaticScenario] and `gamma`
    a float array of reachable targets; nothing is validated again.
    """
    max_snr = float(scenario.max_snr[0])
    shape = gamma.shape
    gamma = gamma.ravel()
    # 1 - beta as (Gamma - gamma) / Gamma: exact subtraction near the largest target
    beta = np.minimum(gamma / max_snr, 1.0)
    beta_c = np.maximum(max_snr - gamma, 0.0) / max_snr
    rho, sigma, e1, e2 = fr.span_basis(scenario.a, scenario.channels[0])
    kappa = scenario.g0 * scenario.power * scenario.n_tx
    n_rx = scenario.n_rx
    # largest information gain w, and the Gaussian-only point (w_max, 0) that attains it
    mrt = rho * rho >= beta
    w_max = np.where(mrt, 1.0, (rho * np.sqrt(beta) + sigma * np.sqrt(beta_c)) ** 2)
    search = Search(rho, sigma, gamma, beta, beta_c, kappa, n_rx)
    _, best_nu, upper, rounds = run_search(
        search, fr.slope(w_max, kappa, n_rx), rtol, n_initial, max_rounds
    )
    point = fr.frontier_point(best_nu, rho, sigma, gamma, beta, beta_c)
    # the end point (w_max, 0) is feasible and only exposed by nu >= nu_max
    phi_end = fr.information_shape(w_max, 0.0, kappa, n_rx)
    use_end = phi_end > fr.information_shape(point.w, point.s, kappa, n_rx)
    theta_end = np.where(mrt, np.arctan2(sigma, rho), np.arctan2(np.sqrt(beta_c), np.sqrt(beta)))
    end = (w_max, 0.0, 1.0, 0.0, theta_end, 0.0, 0.0)  # w, s, p, q, theta_w, theta_r, dual
    point = fr.FrontierPoint(*(np.where(use_end, e, x) for x, e in zip(point, end)))
    VW, VR = _to_factors(point, e1, e2, scenario.power)
    upper = np.maximum(upper, phi_end)
    scale = 2.0 * scenario.n_symbols * scenario.db_norm2
    # metrics straight from the factors (built PSD here, so no validation pass)
    crb, sinr = lowrank.metrics(scenario, VW, VR, "superposition")
    info = 1.0 / crb
    info_upper = np.maximum(scale * upper, info)  # the design itself is a lower bound
    return SuperpositionDesign(
        snr_min=gamma.reshape(shape),
        W_factor=VW.reshape(*shape, *VW.shape[-2:]),
        Rs_factor=VR.reshape(*shape, *VR.shape[-2:]),
        crb=crb.reshape(shape),
        crb_lower_bound=(1.0 / info_upper).reshape(shape),
        information=info.reshape(shape),
        information_upper=info_upper.reshape(shape),
        bound_gap=(info_upper / info - 1.0).reshape(shape),
        sinr=sinr.reshape(shape),
        rate=np.log2(1.0 + sinr).reshape(shape),
        power_fraction=point.p.reshape(shape),
        evaluations=search.evaluations.reshape(shape),
        rounds=rounds,
        rtol=rtol,
    )
