r"""Bayesian Fisher information and the BCRB from learned or exact scores, with honest errors.

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

Three estimators of $J = \mathbb E[s s^\top]$ from a learned score $\hat s = s + e$
([`score_fim`][beamopt.metrics.fim.score_fim], `method=`); by integration by parts
$-\mathbb E[\nabla\hat s] = \mathbb E[\hat s s^\top]$, so

with $S = \mathbb E[e s^\top + s e^\top]$ and $E = \mathbb E[e e^\top]$:

| method | per-draw matrix | bias |
|---|---|---|
| `"plugin"` (eq. (61)) | $\hat s\hat s^\top$ | $S + E$ |
| `"divergence"` | $-\tfrac12(\nabla\hat s + \nabla\hat s^\top)$ | $\tfrac12 S$ |
| `"debiased"` | $-(\nabla\hat s + \nabla\hat s^\top) - \hat s\hat s^\top$ | $-E$ |

The debiased matrix is the ISM objective in matrix form ($\operatorname{tr}$ of its mean is
$-2\times$ the ISM loss): it is first-order insensitive to the score error (the bias is
second order and negative, so the BCRB errs on the safe, high side), and evaluated on draws
the model never trained on (cross-fitting) its Monte Carlo error covers the model's own
sampling error too. The plug-in's first-order term does not vanish where the score error
is correlated with the score (a learned scale off by $c$ moves $J$ by $2c$).

Errors: each estimate is a mean over $M$ parameter draws of a per-draw matrix $G_m$; the
Monte Carlo standard error of entry $(i,j)$ is $\mathrm{std}_m(G_{m,ij})/\sqrt M$, and of
$\operatorname{tr}\,\mathrm{BCRB}$ the delta method $\mathrm{std}_m\operatorname{tr}(P G_m
P^\top)/\sqrt M$ with $P = E^\top J_b^{-1}$ (for a sum of independent estimates the parts'
variances add). For an ensemble of $K$ trained scores the estimate is the members' mean and
$$
\mathrm{se}^2 = \mathrm{se}_{\rm MC}^2 + \frac{s_{\rm seeds}^2}{K},
$$
with $s_{\rm seeds}$ the between-member standard deviation (less, for cross-fitted members
on disjoint draws, the part their own Monte Carlo errors explain). Since $s_{\rm seeds}$
rests on $K - 1$ degrees of freedom, `BoundEstimate.interval` uses the Student-t quantile
with Welch-Satterthwaite degrees of freedom (with $K = 5$ and the seed part dominant, the
normal $\pm 1.96\,\mathrm{se}$ would cover only ~88 %).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .._validation import as_array, check_choice, readonly
from ._checks import as_noise, as_samples

__all__ = [
    "FisherEstimate",
    "BoundEstimate",
    "FIM_METHODS",
    "fisher_from_scores",
    "score_fim",
    "expected_fim",
    "gaussian_fim",
    "bayesian_fim",
    "bcrb",
]

#: Estimators of a Fisher information matrix from a learned score (see the module text).
FIM_METHODS = ("plugin", "divergence", "debiased")


def _none() -> np.ndarray | None:
    return None


@dataclass(frozen=True, repr=False)
class FisherEstimate:
    r"""A Monte Carlo Fisher information matrix (of one score, or of an ensemble's).

    Attributes
    ----------
    matrix : ndarray, shape (d, d)
        The estimate $\hat J$ (the members' mean for an ensemble).
    stderr : ndarray, shape (d, d)
        Standard error of each entry: Monte Carlo, combined with the between-seed spread for
        an ensemble.
    n_samples : int
        Parameter draws $M$ the estimate averages (for a sum of independent estimates, the
        parts' draws together).
    n_measurements : int
        Measurements per draw $L$ averaged inside each draw (1 for a prior FIM).
    contributions : ndarray, shape (n, d, d)
        The per-draw matrices $G_m$ (their mean is `matrix`; for an ensemble, the members'
        mean at each draw, or for a cross-fitted one each draw's held-out members); for a sum
        of independent estimates, the parts' matrices stacked.
    parts : tuple of FisherEstimate
        The independent estimates this one sums (empty for a single mean over draws).
    members : tuple of FisherEstimate
        One estimate per ensemble member (empty for a single score).
    method : str
        "plugin", "divergence", "debiased", "exact" (known FIMs) or "sum".
    cross_fitted : bool
        Whether each member was evaluated only on draws it never trained on (its `rows`).
    rows : ndarray of int or None
        The evaluation draws `contributions` belong to (None: all `n_draws`, in order).
    n_draws : int or None
        Number of evaluation draws `rows` index into.
    mc_stderr : ndarray, shape (d, d)
        Monte Carlo part of `stderr`.
    seed_std : ndarray, shape (d, d)
        Between-member standard deviation of `matrix` (NaN for a single score: the training
        spread is then not measured).
    """

    matrix: np.ndarray
    stderr: np.ndarray
    n_samples: int
    n_measurements: int
    contributions: np.ndarray
    parts: tuple[FisherEstimate, ...] = ()
    members: tuple[FisherEstimate, ...] = ()
    method: str = "plugin"
    cross_fitted: bool = False
    rows: np.ndarray | None = field(default_factory=_none)
    n_draws: int | None = None
    mc_stderr: np.ndarray | None = field(default_factory=_none)
    seed_std: np.ndarray | None = field(default_factory=_none)

    def __post_init__(self) -> None:
        if self.mc_stderr is None:
            object.__setattr__(self, "mc_stderr", self.stderr)
        if self.seed_std is None:
            object.__setattr__(self, "seed_std", readonly(np.full(self.matrix.shape, np.nan)))
        if self.n_draws is None:
            object.__setattr__(self, "n_draws", self.n_samples)

    @property
    def n_seeds(self) -> int:
        """Ensemble members (1 for a single score)."""
        return max(1, len(self.members))

    def __repr__(self) -> str:
        d = self.matrix.shape[0]
        tr = float(np.trace(self.matrix))
        se = float(np.sqrt(np.sum(np.diag(self.stderr) ** 2)))
        text = f"FisherEstimate({d}x{d}, {self.method}, trace={tr:.4g} ± {se:.2g}"
        if self.members:
            spread = float(np.sqrt(np.nansum(np.diag(self.seed_std) ** 2)))
            text += f", {self.n_seeds} seeds (seed std of the trace {spread:.2g})"
        if self.cross_fitted:
            text += ", cross-fitted"
        return text + f", n_samples={self.n_samples})"


@dataclass(frozen=True, repr=False)
class BoundEstimate:
    r"""A (learned) BCRB on the kept parameters.

    Attributes
    ----------
    matrix : ndarray, shape (k, k)
        $\big[(J_{kk} - J_{kn} J_{nn}^{-1} J_{nk})^{-1}\big]$, the bound on the kept block.
    trace : float
        $\operatorname{tr}$ of `matrix` (the MSE bound summed over kept parameters).
    trace_stderr : float
        Standard error of `trace`: the delta-method Monte Carlo error, combined with the
        between-seed spread over $\sqrt K$ for an ensemble.
    keep : tuple of int
        Indices of the kept parameters.
    fim : FisherEstimate
        The information matrix the bound inverts.
    trace_mc_stderr : float
        The Monte Carlo part of `trace_stderr`.
    trace_seed_std : float
        Between-member standard deviation of the trace (what one training run varies by;
        NaN for a single score).
    member_traces : ndarray, shape (n_seeds,)
        The bound of each member (empty for a single score).
    dof : float
        Effective degrees of freedom of `trace_stderr` (Welch-Satterthwaite: the seed part
        is estimated from $K - 1$; infinite for a single score).
    """

    matrix: np.ndarray
    trace: float
    trace_stderr: float
    keep: tuple[int, ...]
    fim: FisherEstimate
    trace_mc_stderr: float = float("nan")
    trace_seed_std: float = float("nan")
    member_traces: np.ndarray = field(default_factory=lambda: readonly(np.empty(0)))
    dof: float = float("inf")

    @property
    def n_seeds(self) -> int:
        return max(1, self.member_traces.size)

    def interval(self, level: float = 0.95) -> tuple[float, float]:
        """`trace ± t * trace_stderr`, with $t$ the Student-t quantile at `level` for `dof`
        degrees of freedom (the normal quantile for a single score)."""
        half = t_quantile(level, self.dof) * self.trace_stderr
        return self.trace - half, self.trace + half

    def __repr__(self) -> str:
        text = f"BoundEstimate(trace={self.trace:.4g} ± {self.trace_stderr:.2g}"
        if self.member_traces.size:
            text += (
                f" (Monte Carlo {self.trace_mc_stderr:.2g}, {self.n_seeds} seeds: seed std "
                f"{self.trace_seed_std:.2g})"
            )
        return text + f", keep={self.keep}, {self.fim.method})"


def t_quantile(level: float, dof: float) -> float:
    """Two-sided Student-t quantile (normal for infinite `dof`)."""
    from scipy.stats import norm, t

    if not isinstance(level, int | float) or not 0.0 < level < 1.0:
        raise ValueError(f"level must lie in (0, 1); got {level!r}")
    q = 0.5 + level / 2
    return float(norm.ppf(q) if not np.isfinite(dof) else t.ppf(q, dof))


def welch_dof(mc_var: float, seed_var: float, n_seeds: int) -> float:
    r"""Welch-Satterthwaite degrees of freedom of $\mathrm{se}^2 = v_{\rm MC} + v_{\rm seed}/K$
    ($v_{\rm MC}$ from many draws, $v_{\rm seed}$ from $K - 1$)."""
    part = seed_var / n_seeds
    if n_seeds < 2 or part <= 0:
        return float("inf")
    return float((n_seeds - 1) * ((mc_var + part) / part) ** 2)


def _estimate(G: np.ndarray, n_measurements: int, **extra) -> FisherEstimate:
    M = G.shape[0]
    stderr = G.std(axis=0, ddof=1) / np.sqrt(M) if M > 1 else np.full(G.shape[1:], np.inf)
    return FisherEstimate(
        matrix=readonly(G.mean(axis=0)),
        stderr=readonly(stderr),
        n_samples=M,
        n_measurements=n_measurements,
        contributions=readonly(G),
        **extra,
    )


def _sym(A: np.ndarray) -> np.ndarray:
    return 0.5 * (A + np.swapaxes(A, -1, -2))


def fisher_from_scores(scores, *, jacobians=None, method: str = "plugin", prior_scores=None):
    r"""$\frac{1}{ML}\sum_{m,\ell} G_{m\ell}$ from score vectors (eq. (59), (61)-(63)).

    Parameters
    ----------
    scores : array_like, shape (M, d) or (M, L, d)
        Score vectors, real: prior scores at prior draws, Fisher scores at $(y_{m\ell},
        \theta_m)$, or posterior scores. Rows with the same $m$ share the parameter draw.
    jacobians : array_like, shape (M, d, d) or (M, L, d, d), optional
        $\partial s_i/\partial\theta_j$ at the same points (needed by "divergence" and
        "debiased").
    method : {"plugin", "divergence", "debiased"}
        $G = s s^\top$, $-\mathrm{sym}\,\nabla s$, or $-2\,\mathrm{sym}\,\nabla s - s s^\top$
        (see the module text for their biases under a score error).
    prior_scores : array_like, shape (M, d), optional
        For Fisher (measurement) scores $s(y\mid\theta)$ only: the prior score at $\theta_m$;
        integration by parts over $p(\theta, y)$ then needs the correction
        $-\mathrm{sym}(s\, s_p^\top)$ in the divergence form.
    """
    method = check_choice(method, "method", FIM_METHODS)
    s = as_array(scores, "scores", dtype=float)
    if s.ndim == 2:
        s = s[:, None, :]
    if s.ndim != 3 or s.shape[0] < 1 or s.shape[1] < 1 or s.shape[2] < 1:
        raise ValueError(f"scores must have shape (M, d) or (M, L, d); got {s.shape}")
    M, L, d = s.shape
    plug = np.einsum("mli,mlj->mlij", s, s)
    if method == "plugin":
        G = plug
    else:
        if jacobians is None:
            raise ValueError(f"method={method!r} needs jacobians (shape (M, d, d))")
        jac = as_array(jacobians, "jacobians", dtype=float)
        if jac.ndim == 3:
            jac = jac[:, None]
        if jac.shape != (M, L, d, d):
            raise ValueError(
                f"jacobians must have shape ({M}, {d}, {d}) or ({M}, {L}, {d}, "
                f"{d}) like scores; got {jac.shape}"
            )
        div = -_sym(jac)
        if prior_scores is not None:
            p = as_samples(prior_scores, "prior_scores", dim=d, n=M)
            div = div - _sym(np.einsum("mli,mj->mlij", s, p))
        G = div if method == "divergence" else 2.0 * div - plug
    return _estimate(G.mean(axis=1), L, method=method)


def _check_model(model):
    score = getattr(model, "score", None)
    if not callable(score) or not hasattr(model, "dim"):
        raise ValueError(
            "model must be a ParameterScore or ScoreEnsemble (an object with score(theta, "
            f"condition) and dim); got {type(model).__name__}"
        )
    if getattr(model, "noise_conditional", False):
        raise ValueError(
            "model is a DSM (noise-conditional) model: its smoothed score is not the score of "
            "the parameters; train with objective='ism' (or 'ssm') for a Fisher information"
        )


def score_fim(
    model,
    theta,
    *,
    conditions=None,
    method: str = "debiased",
    prior_scores=None,
    cross_fit="auto",
) -> FisherEstimate:
    r"""Fisher information of a learned score (or of each member of an ensemble) at draws.

    Parameters
    ----------
    model : ParameterScore or ScoreEnsemble
        An ISM/SSM score (prior or posterior) or an FSM measurement score, or an ensemble of
        them ([`train_parameter_score`][beamopt.metrics.score_matching.train_parameter_score]
        with `n_seeds=K`).
    theta : array_like, shape (M, dim)
        Draws from the distribution the score belongs to (prior draws for a prior score;
        joint draws with `conditions` for posterior or Fisher scores).
    conditions : array_like, shape (M, cond_dim), optional
        The paired conditions (observations) of a conditional model.
    method : {"debiased", "plugin", "divergence"}
        The estimator (bias table in the module text). "debiased" (default) is first-order
        insensitive to the score error; "plugin" is the paper's eq. (61).
    prior_scores : array_like, shape (M, dim), optional
        Needed by "divergence" and "debiased" for an FSM (Fisher-score) model: the prior
        score at `theta`.
    cross_fit : "auto", bool
        Evaluate every draw only with members that never trained on it (their held-out
        folds). "auto": for an ensemble whose members hold out folds of exactly these
        samples (checked by a fingerprint); a single model is cross-fitted (on its held-out
        rows only) when True is passed. On fresh draws every member scores every draw.

    Returns
    -------
    FisherEstimate
        With one member estimate per seed for an ensemble.
    """
    _check_model(model)
    method = check_choice(method, "method", FIM_METHODS)
    theta = as_samples(theta, "theta", dim=model.dim)
    n = theta.shape[0]
    cond = None if conditions is None else as_samples(conditions, "conditions", n=n)
    fsm = model.objective == "fsm"
    if fsm and method != "plugin" and prior_scores is None:
        raise ValueError(
            f"method={method!r} for a Fisher (FSM) score needs prior_scores at theta (the "
            "divergence identity integrates over p(theta, y))"
        )
    prior = (
        None
        if prior_scores is None
        else as_samples(prior_scores, "prior_scores", dim=model.dim, n=n)
    )
    members = getattr(model, "members", None)
    units = tuple(members) if members is not None else (model,)
    if cross_fit not in ("auto", True, False):
        raise ValueError(f"cross_fit must be 'auto', True or False; got {cross_fit!r}")
    fits_data = _is_training_data(model, theta, cond)
    rows_held = [getattr(u, "held_out_rows", None) for u in units]
    if cross_fit == "auto":
        cross_fit = members is not None and fits_data and all(r is not None for r in rows_held)
    elif cross_fit:
        if not fits_data:
            raise ValueError(
                "cross_fit=True needs theta (and conditions) to be the samples the "
                "model was trained on"
            )
        if any(r is None for r in rows_held):
            raise ValueError(
                "cross_fit=True needs models trained with held-out rows (validation as a share)"
            )

    def per_draw(unit, rows):
        th = theta if rows is None else theta[rows]
        c = None if cond is None else (cond if rows is None else cond[rows])
        p = None if prior is None else (prior if rows is None else prior[rows])
        s = unit.score(th, c)
        jac = unit.score_jacobian(th, c) if method != "plugin" else None
        return fisher_from_scores(
            s, jacobians=jac, method=method, prior_scores=p if fsm else None
        ).contributions

    if not cross_fit:
        Gs = [per_draw(u, None) for u in units]
        if members is None:
            return _estimate(Gs[0], 1, method=method)
        ests = tuple(_estimate(G, 1, method=method) for G in Gs)
        return _ensemble(_estimate(np.mean(Gs, axis=0), 1, method=method), ests, False)
    mask = np.zeros((len(units), n), dtype=bool)
    for k, r in enumerate(rows_held):
        mask[k, r] = True
    total = np.zeros((n, model.dim, model.dim))
    ests = []
    for k, u in enumerate(units):
        rows = np.flatnonzero(mask[k])
        G = per_draw(u, rows)
        total[rows] += G
        ests.append(_estimate(G, 1, method=method, rows=readonly(rows), n_draws=n))
    count = mask.sum(axis=0)
    covered = np.flatnonzero(count)
    pooled = total[covered] / count[covered, None, None]
    top = _estimate(pooled, 1, method=method, cross_fitted=True, rows=readonly(covered), n_draws=n)
    if members is None:
        return top
    return _ensemble(top, tuple(ests), True)


def _is_training_data(model, theta, cond) -> bool:
    check = getattr(model, "is_training_data", None)
    if callable(check):
        return bool(check(theta, cond))
    from ._checks import data_fingerprint

    fp = getattr(model, "data_fingerprint", None)
    return fp is not None and data_fingerprint(theta, cond) == fp


def _ensemble(top: FisherEstimate, members: tuple, cross_fitted: bool) -> FisherEstimate:
    """`top` (the members' mean) with the members attached and the seed part in `stderr`."""
    K = len(members)
    mats = np.stack([m.matrix for m in members])
    seed_std = mats.std(axis=0, ddof=1) if K > 1 else np.full(top.matrix.shape, np.nan)
    seed_var = np.nan_to_num(seed_std**2)
    if cross_fitted:  # members on disjoint draws: their spread includes their own MC error
        own = np.mean([m.mc_stderr**2 for m in members], axis=0)
        seed_var = np.maximum(seed_var - own, 0.0)
    mc = top.mc_stderr
    return FisherEstimate(
        matrix=top.matrix,
        stderr=readonly(np.sqrt(mc**2 + seed_var / K)),
        n_samples=top.n_samples,
        n_measurements=top.n_measurements,
        contributions=top.contributions,
        parts=top.parts,
        members=members,
        method=top.method,
        cross_fitted=cross_fitted or top.cross_fitted,
        rows=top.rows,
        n_draws=top.n_draws,
        mc_stderr=mc,
        seed_std=readonly(seed_std),
    )


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
    return _estimate(_sym(G), 1, method="exact")


def gaussian_fim(jacobian, noise_var, n_snapshots: int = 1, *, noise=None) -> np.ndarray:
    r"""FIM of $y_k = f(\theta) + z_k$, $k = 1..K$, white Gaussian noise of variance $\sigma^2$.

    Complex (circular) noise, $z \sim \mathcal{CN}(0, \sigma^2 I)$ (eq. (112)):
    $J = \frac{2K}{\sigma^2}\Re\{F^H F\}$. Real noise, $z \sim \mathcal N(0, \sigma^2 I)$:
    $J = \frac{K}{\sigma^2}F^\top F$.

    Parameters
    ----------
    jacobian : array_like, shape (..., n, d)
        $F = \partial f / \partial \theta^\top$.
    noise_var : float
        $\sigma^2 > 0$ (per complex entry for complex noise).
    n_snapshots : int
        $K$ i.i.d. snapshots.
    noise : {"complex", "real"}, optional
        The noise model. Default: "complex" for a complex `jacobian`, "real" for a real one
        (a real Jacobian of a complex model needs `noise="complex"`).

    Returns
    -------
    ndarray, shape (..., d, d)
    """
    if noise is None:
        noise = "complex" if np.iscomplexobj(jacobian) else "real"
    noise = check_choice(noise, "noise", ("complex", "real"))
    F = as_array(jacobian, "jacobian", dtype=complex if noise == "complex" else float)
    if F.ndim < 2:
        raise ValueError(f"jacobian must have shape (..., n, d); got {F.shape}")
    s2 = as_noise(noise_var, "noise_var")
    if isinstance(n_snapshots, bool) or not isinstance(n_snapshots, int) or n_snapshots < 1:
        raise ValueError(f"n_snapshots must be an integer >= 1; got {n_snapshots!r}")
    gram = np.real(np.swapaxes(F.conj(), -1, -2) @ F)
    return (2.0 if noise == "complex" else 1.0) * n_snapshots / s2 * gram


def _same_draws(a: FisherEstimate, b: FisherEstimate):
    """Per-draw contributions of `a` and `b` on their common draws, or None if independent."""
    if a.parts or b.parts:
        return None
    if a.rows is None and b.rows is None:
        if a.n_samples == b.n_samples:
            return a.contributions, b.contributions, None, a.n_samples
        return None
    if a.rows is not None and b.rows is None and b.n_samples == a.n_draws:
        return a.contributions, b.contributions[a.rows], a.rows, a.n_draws
    if b.rows is not None and a.rows is None and a.n_samples == b.n_draws:
        return a.contributions[b.rows], b.contributions, b.rows, b.n_draws
    if (
        a.rows is not None
        and b.rows is not None
        and a.n_draws == b.n_draws
        and np.array_equal(a.rows, b.rows)
    ):
        return a.contributions, b.contributions, a.rows, a.n_draws
    return None


def _plain_sum(a: FisherEstimate, b: FisherEstimate) -> FisherEstimate:
    common = _same_draws(a, b)
    if common is not None:
        Ga, Gb, rows, n_draws = common
        return _estimate(
            Ga + Gb,
            b.n_measurements,
            method="sum",
            cross_fitted=a.cross_fitted or b.cross_fitted,
            rows=None if rows is None else readonly(rows),
            n_draws=n_draws,
        )
    return FisherEstimate(
        matrix=readonly(a.matrix + b.matrix),
        stderr=readonly(np.hypot(a.mc_stderr, b.mc_stderr)),
        n_samples=a.n_samples + b.n_samples,
        n_measurements=b.n_measurements,
        contributions=readonly(np.concatenate([a.contributions, b.contributions])),
        parts=(*(a.parts or (a,)), *(b.parts or (b,))),
        method="sum",
        cross_fitted=a.cross_fitted or b.cross_fitted,
    )


def _strip(est: FisherEstimate) -> FisherEstimate:
    """The ensemble mean alone (Monte Carlo error only), without its members."""
    if not est.members:
        return est
    return FisherEstimate(
        matrix=est.matrix,
        stderr=est.mc_stderr,
        n_samples=est.n_samples,
        n_measurements=est.n_measurements,
        contributions=est.contributions,
        parts=est.parts,
        method=est.method,
        cross_fitted=est.cross_fitted,
        rows=est.rows,
        n_draws=est.n_draws,
    )


def bayesian_fim(prior: FisherEstimate, data: FisherEstimate) -> FisherEstimate:
    r"""$\hat J_b = \hat J_p + \hat J_d$ (eq. (60)).

    When both estimates come from the same $M$ parameter draws (in the same order; for a
    cross-fitted estimate, the draws its `rows` name) their per-draw matrices are added, so
    the standard error accounts for their correlation; otherwise the two are independent and
    the variances add. An ensemble (from
    [`score_fim`][beamopt.metrics.fim.score_fim]) is added member by member (two ensembles
    pair their members), so the sum keeps its between-seed spread.
    """
    for name, est in (("prior", prior), ("data", data)):
        if not isinstance(est, FisherEstimate):
            raise ValueError(f"{name} must be a FisherEstimate; got {type(est).__name__}")
    if prior.matrix.shape != data.matrix.shape:
        raise ValueError(
            f"prior and data must have the same shape; got {prior.matrix.shape} and "
            f"{data.matrix.shape}"
        )
    if prior.members and data.members and len(prior.members) != len(data.members):
        raise ValueError(
            f"prior and data ensembles must have the same number of members; got "
            f"{len(prior.members)} and {len(data.members)}"
        )
    top = _plain_sum(_strip(prior), _strip(data))
    if not prior.members and not data.members:
        return top
    K = max(len(prior.members), len(data.members))
    pm = prior.members or (prior,) * K
    dm = data.members or (data,) * K
    members = tuple(_plain_sum(_strip(p), _strip(d)) for p, d in zip(pm, dm, strict=True))
    return _ensemble(top, members, prior.cross_fitted or data.cross_fitted)


def _bound(J: np.ndarray, idx):
    eig = np.linalg.eigvalsh(J)
    if not eig[0] > 1e-12 * max(eig[-1], 1e-300):
        raise ValueError("fim must be positive definite to be inverted")
    Jinv = np.linalg.inv(J)
    P = Jinv[list(idx)]
    B = P[:, list(idx)]
    return P, 0.5 * (B + B.T)


def _mc_var(fim: FisherEstimate, P: np.ndarray) -> float:
    var = 0.0
    for part in fim.parts or (fim,):  # independent parts: their variances add
        per = np.einsum("ki,mij,kj->m", P, part.contributions, P)
        M = per.shape[0]
        var += per.var(ddof=1) / M if M > 1 else np.inf
    return float(var)


def bcrb(fim: FisherEstimate, keep=None) -> BoundEstimate:
    r"""BCRB $= [J^{-1}]_{\mathcal K\mathcal K}$ on the kept parameters (eq. (119)).

    Parameters
    ----------
    fim : FisherEstimate
        A Bayesian FIM (or a data FIM for the CRB); for an ensemble, the bound of the
        members' mean FIM with `trace_stderr` combining the Monte Carlo error and the spread
        of the members' bounds.
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
    P, B = _bound(fim.matrix, idx)
    mc = np.sqrt(_mc_var(fim, P))
    traces = np.empty(0)
    seed_std = float("nan")
    total = mc
    dof = float("inf")
    if fim.members:
        bounds = [bcrb(m, idx) for m in fim.members]
        traces = np.array([b.trace for b in bounds])
        K = traces.size
        if K > 1:
            seed_std = float(traces.std(ddof=1))
            seed_var = seed_std**2
            if fim.cross_fitted:
                seed_var = max(
                    seed_var - float(np.mean([b.trace_mc_stderr**2 for b in bounds])), 0.0
                )
            total = float(np.sqrt(mc**2 + seed_var / K))
            dof = welch_dof(float(mc**2), seed_var, K)
    return BoundEstimate(
        matrix=readonly(B),
        trace=float(np.trace(B)),
        trace_stderr=float(total),
        keep=idx,
        fim=fim,
        trace_mc_stderr=float(mc),
        trace_seed_std=seed_std,
        member_traces=readonly(traces),
        dof=dof,
    )
