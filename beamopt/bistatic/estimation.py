r"""Maximum-likelihood DoA estimators for the bistatic echo model.

Per symbol the sensing receiver observes

$$
y_t = \alpha\, b(\theta) a(\phi)^H (w_t + s_t) + n_t,
\qquad w_t \sim \mathcal{CN}(0, W),\; n_t \sim \mathcal{CN}(0, \sigma_s^2 I),
$$

with the DoD $\phi$, $W$, $\sigma_s^2$ and the sensing sequence
$s_t$ known. With $z_t = a^H s_t$, $c_W = a^H W a$,
$c_S = \frac1L\sum_t |z_t|^2$ and $p = |\alpha|^2 c_W$, the echoes are
independent $\mathcal{CN}(\alpha b z_t,\, p\, b b^H + \sigma_s^2 I)$. In units
of the noise ($\sigma_s^2 = 1$) the log-likelihood depends on the data only
through the sample covariance $\hat R = \frac1L Y Y^H$ and the matched
vector $m = \frac1L Y z^*$, via their projections on $b(\theta)$,

$$
q(\theta) = b^H \hat R\, b, \qquad v(\theta) = b^H m,
$$

$$
\frac{\ell}{L} = -N_r\log\pi - \mathrm{tr}\hat R - \log(1 + p N_r)
+ \frac{p\, q + 2\,\Re(\alpha^* v) - |\alpha|^2 c_S N_r}{1 + p N_r}.
$$

Given $\theta$, the best phase of $\alpha$ is $\angle v$ (it only
enters through $\Re(\alpha^* v)$), which is also the CRB-rate paper's eq. (50).
Estimators of the magnitude $\xi = |\alpha|/\sigma_s$:

* Gaussian-only ($c_S = 0$, exact ML, the CRB-rate paper's eq. (27)):
  $\hat\xi^2 = \max(q/N_r - 1, 0) / (N_r c_W)$. The concentrated
  likelihood is $x - 1 - \log x$ with $x = \max(q/N_r, 1)$, increasing in
  $q$, so $\hat\theta = \arg\max_\theta b^H \hat R b$ (the CRB-rate paper's eq. (29)).
* `method="phase_magnitude"` (the CRB-rate paper's eqs. (50)-(52)): the same moment
  estimator with the total beam gain,
  $\hat\xi^2 = \max(q/N_r - 1, 0) / (N_r (c_W + c_S))$.
* `method="ml"`: the exact ML, the unique positive root of the cubic

  $$
  c_W^2 N_r^2 \xi^3 + c_W N_r |v| \xi^2 + \big((c_W + c_S) N_r - c_W q\big)\xi
  - |v| = 0
  $$

  (one sign change, so exactly one positive root; $\xi = |v|/(N_r c_S)$ when
  $c_W = 0$).

The concentrated log-likelihood is a trigonometric polynomial in
$u = \sin\theta$: $q = \sum_{k} r_k e^{j\pi k u}$ with
$r_k$ the sums of the diagonals of $\hat R$, so it is evaluated on a grid
uniform in $u$ for all trials at once and refined by golden-section search on
the bracket around the best grid point.

References
----------
*CRB-Rate Tradeoff for Bistatic ISAC with Gaussian Information and Deterministic Sensing Signals*:
Section III-B, eqs. (24)-(29), and Section IV-B, eqs. (49)-(52).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .._repr import summary_repr
from .._validation import as_array, as_covariance, check_int, check_positive
from ..arrays import element_positions
from .scenario import BistaticScenario

__all__ = ["DoaEstimate", "estimate_doa", "METHODS"]

METHODS = ("phase_magnitude", "ml")
_INVPHI = (np.sqrt(5.0) - 1.0) / 2.0


@dataclass(frozen=True)
class DoaEstimate:
    r"""Outcome of [`estimate_doa`][beamopt.bistatic.estimation.estimate_doa]; arrays have the batch
    shape of `Y`.

    Attributes
    ----------
    doa : float or ndarray, shape (...)
        Estimated DoA $\hat\theta$ (rad).
    alpha : complex or ndarray, shape (...), complex
        Estimated channel coefficient. Gaussian-only data identify only
        $|\alpha|$, which is returned as a non-negative real.
    log_likelihood : float or ndarray, shape (...)
        Log-likelihood of `Y` at $(\hat\theta, \hat\alpha)$ (natural log,
        including all constants).
    method : str
        `"phase_magnitude"` or `"ml"` (identical for Gaussian-only data).
    """

    doa: float | np.ndarray
    alpha: complex | np.ndarray
    log_likelihood: float | np.ndarray
    method: str

    __repr__ = summary_repr


@dataclass(frozen=True)
class _Statistics:
    """Sufficient statistics in noise units, flattened to a batch of `T` trials."""

    lags: np.ndarray  # (T, N): r_k = sum of the k-th upper diagonal of R_hat (r_0 halved)
    m: np.ndarray | None  # (T, N): Y z^* / L, None without a known sequence
    trace: np.ndarray  # (T,): tr R_hat
    cW: float
    cS: float
    n_rx: int
    n_symbols: int

    def q(self, u):
        r"""$b(u)^H \hat R b(u)$; `u` of shape (T or 1, K) -> (T, K)."""
        k = np.arange(self.n_rx)
        E = np.exp(1j * np.pi * u[..., None] * k)
        return 2.0 * (E.real * self.lags.real[:, None] - E.imag * self.lags.imag[:, None]).sum(-1)

    def v(self, u):
        """$b(u)^H m$; shape (T, K)."""
        E = np.exp(-1j * np.pi * u[..., None] * element_positions(self.n_rx))
        return (E * self.m[:, None, :]).sum(axis=-1)


def _lags(Yn):
    r"""Sums of the upper diagonals of $\hat R = Y Y^H / L$: $r_k = \sum_n \hat R_{n, n+k}$.

    The antenna-axis autocorrelation of each snapshot, summed over snapshots, via a
    zero-padded FFT: $O(N \log N)$ per snapshot and no BLAS call, so a batch of trials
    runs alike whatever the BLAS thread count (a stack of small matrix products does not).
    """
    n_rx, L = Yn.shape[-2:]
    F = np.fft.fft(Yn, n=2 * n_rx, axis=-2)
    power = (F.real**2 + F.imag**2).sum(axis=-1)  # (T, 2N)
    # ifft of |F|^2 is sum_n conj(y_n) y_{n+k}; r_k is its conjugate
    return np.conj(np.fft.ifft(power, axis=-1)[:, :n_rx]) / L


def _statistics(Y, scenario, W, S, cW=None) -> _Statistics:
    """Statistics of `Y`; `cW` given means `W` was validated by the caller (not used then)."""
    Y = as_array(Y, "Y", dtype=complex)
    if Y.ndim < 2 or Y.shape[-2] != scenario.n_rx:
        raise ValueError(f"Y must have shape (..., n_rx={scenario.n_rx}, L); got {Y.shape}")
    L = Y.shape[-1]
    if L < 1:
        raise ValueError("Y must hold at least one symbol (L >= 1)")
    a = scenario.a
    if cW is None:
        W = as_covariance(W, "W", scenario.n_tx, batched=False)
        # einsum loops, not BLAS calls: these small products crawl with many BLAS threads
        cW = max(float(np.einsum("i,ij,j->", a.conj(), W, a).real), 0.0)
    # Work in units of the noise: y / sigma_s has unit noise power.
    Yn = Y.reshape(-1, scenario.n_rx, L) / np.sqrt(scenario.noise_power)
    lags = _lags(Yn)
    trace = lags[:, 0].real.copy()
    lags[:, 0] *= 0.5
    m, cS = None, 0.0
    if S is not None:
        S = as_array(S, "S", dtype=complex, ndim=2)
        if S.shape != (scenario.n_tx, L):
            raise ValueError(
                f"S must have shape (n_tx={scenario.n_tx}, L={L}) matching Y; got {S.shape}"
            )
        z = np.einsum("i,il->l", a.conj(), S)
        cS = float(np.vdot(z, z).real) / L
        if cS > 0:
            m = (Yn * z.conj()).sum(axis=-1) / L
    if cW == 0 and cS == 0:
        raise ValueError(
            "W and S radiate nothing toward the target (a^H W a = 0 and a^H S = 0); "
            "the DoA is not identifiable"
        )
    return _Statistics(lags, m, trace, cW, cS, scenario.n_rx, L)


def _magnitude_ml(st: _Statistics, q, av):
    r"""Exact ML of $\xi = |\alpha|/\sigma_s$ given `q` and `|v|`."""
    N, cW, cS = st.n_rx, st.cW, st.cS
    if av is None:
        return np.sqrt(np.maximum(q / N - 1.0, 0.0) / (N * cW))
    if cW == 0:
        return av / (N * cS)
    # Monic cubic rho^3 + c2 rho^2 + c1 rho + c0; convex for rho > 0 with c0 < 0, so Newton
    # from Fujiwara's upper bound on the roots decreases monotonically to the positive root.
    c2 = av / (cW * N)
    c1 = ((cW + cS) * N - cW * q) / (cW * N) ** 2
    c0 = -av / (cW * N) ** 2
    rho = 2.0 * np.maximum(np.maximum(c2, np.sqrt(np.abs(c1))), np.cbrt(np.abs(c0) / 2.0))
    for _ in range(200):
        f = ((rho + c2) * rho + c1) * rho + c0
        df = (3.0 * rho + 2.0 * c2) * rho + c1
        step = np.where(f > 0, f / np.where(df > 0, df, 1.0), 0.0)
        rho = rho - step
        if np.all(step <= 4 * np.finfo(float).eps * rho):
            break
    return rho


def _magnitude(st: _Statistics, method: str, q, av):
    if method == "ml" or av is None:
        return _magnitude_ml(st, q, av)
    return np.sqrt(np.maximum(q / st.n_rx - 1.0, 0.0) / (st.n_rx * (st.cW + st.cS)))


def _profile(st: _Statistics, method: str, u):
    r"""Concentrated log-likelihood per symbol, without the $\theta$-free terms.

    Returns `(g, rho, v)` with shapes (T, K); `v` is None without a known sequence.
    """
    q = st.q(u)
    v = st.v(u) if st.m is not None else None
    av = np.abs(v) if v is not None else None
    rho = _magnitude(st, method, q, av)
    pN = rho**2 * st.cW * st.n_rx
    num = pN * q / st.n_rx
    if av is not None:
        num = num + 2.0 * rho * av - rho**2 * st.cS * st.n_rx
    return num / (1.0 + pN) - np.log1p(pN), rho, v


def _golden_section(f, lo, hi, xtol):
    """Vectorised golden-section maximisation of `f` on `[lo, hi]` (shape (T, 1))."""
    c = hi - _INVPHI * (hi - lo)
    d = lo + _INVPHI * (hi - lo)
    fc, fd = f(c), f(d)
    n_iter = int(np.ceil(np.log(xtol / max(float(np.max(hi - lo)), xtol)) / np.log(_INVPHI)))
    for _ in range(max(n_iter, 1)):
        left = fc > fd  # the maximum lies in [lo, d]
        hi = np.where(left, d, hi)
        lo = np.where(left, lo, c)
        x = np.where(left, hi - _INVPHI * (hi - lo), lo + _INVPHI * (hi - lo))
        fx = f(x)
        c, d, fc, fd = (
            np.where(left, x, d),
            np.where(left, c, x),
            np.where(left, fx, fd),
            np.where(left, fc, fx),
        )
    return np.where(fc > fd, c, d)


def _search_interval(search_range):
    if search_range is None:
        return -1.0, 1.0
    rng = as_array(search_range, "search_range", dtype=float, ndim=1)
    if rng.shape != (2,) or not -np.pi / 2 <= rng[0] < rng[1] <= np.pi / 2:
        raise ValueError(
            "search_range must be (low, high) radians with -pi/2 <= low < high <= pi/2; "
            f"got {search_range!r}"
        )
    return float(np.sin(rng[0])), float(np.sin(rng[1]))


def estimate_doa(
    Y,
    scenario: BistaticScenario,
    W,
    S=None,
    *,
    method: str = "phase_magnitude",
    grid_size: int | None = None,
    search_range=None,
    xtol: float = 1e-12,
) -> DoaEstimate:
    r"""Estimate the target DoA from bistatic echoes by (concentrated) maximum likelihood.

    The channel magnitude is concentrated out in closed form for every
    candidate $\theta$ (see the module notes); the resulting 1-D
    log-likelihood is maximised over a grid uniform in $\sin\theta$ and
    refined by golden-section search on the bracket around the best grid point.
    All trials in the batch are processed at once.

    Parameters
    ----------
    Y : array_like, shape (..., n_rx, L), complex
        Received echoes (V); leading axes are independent trials.
    scenario : BistaticScenario
        Supplies the DoD $\phi$ (steering $a$), `n_rx` and the
        noise power $\sigma_s^2$ (W), all assumed known.
    W : array_like, shape (n_tx, n_tx), complex
        Covariance of the Gaussian information signal (W), Hermitian PSD; zeros
        for a deterministic-only transmission.
    S : array_like, shape (n_tx, L), complex, optional
        Known deterministic sensing sequence (V), shared by all trials. `None`
        selects the Gaussian-only model.
    method : {"phase_magnitude", "ml"}
        Magnitude estimator with a known sequence: the CRB-rate paper's phase-then-magnitude
        moment estimator (eqs. (50)-(52)) or the exact ML (cubic root). Both give
        the exact ML for Gaussian-only data.
    grid_size : int, optional
        Number of grid points (>= 3) uniform in $\sin\theta$ over
        `search_range`. Default: `8 * n_rx` per unit of $\sin\theta$
        (16 points per half main-lobe width), at least 64.
    search_range : (float, float), optional
        DoA interval (rad) within $[-\pi/2, \pi/2]$; default the whole
        half-plane.
    xtol : float
        Absolute tolerance of the refinement in $\sin\theta$.

    Returns
    -------
    DoaEstimate
        `doa`, `alpha` and `log_likelihood` with the batch shape of `Y`.

    Raises
    ------
    ValueError
        If `Y`, `W` or `S` has the wrong shape or non-finite entries, `W` is
        not PSD, nothing is radiated toward the target, or an option is out of range.

    Examples
    --------
    >>> import numpy as np, beamopt
    >>> sc = beamopt.BistaticScenario.default()
    >>> W = beamopt.mrt_covariance(sc.a, sc.power)
    >>> Y, S = beamopt.simulate_echoes(sc, W, n_trials=4, rng=0)
    >>> est = beamopt.estimate_doa(Y, sc, W)
    >>> bool(np.all(np.abs(est.doa - sc.doa) < 0.01))
    True
    """
    return _estimate(Y, scenario, W, S, method, grid_size, search_range, xtol)


def _estimate(Y, scenario, W, S, method, grid_size, search_range, xtol, cW=None):
    """[`estimate_doa`][beamopt.estimate_doa]; with `cW` = $a^H W a$ of a validated `W`."""
    if method not in METHODS:
        raise ValueError(f"method must be one of {METHODS}; got {method!r}")
    xtol = check_positive(xtol, "xtol")
    batch = np.shape(Y)[:-2]
    st = _statistics(Y, scenario, W, S, cW)
    lo, hi = _search_interval(search_range)
    if grid_size is None:
        grid_size = max(64, int(np.ceil(8 * scenario.n_rx * (hi - lo))) + 1)
    grid_size = check_int(grid_size, "grid_size", minimum=3)

    grid = np.linspace(lo, hi, grid_size)
    g_grid = _profile(st, method, grid[None, :])[0]
    k = np.argmax(g_grid, axis=-1)
    step = grid[1] - grid[0]
    u_lo = np.maximum(grid[k] - step, lo)[:, None]
    u_hi = np.minimum(grid[k] + step, hi)[:, None]
    u = _golden_section(lambda x: _profile(st, method, x)[0], u_lo, u_hi, xtol)
    g, rho, v = _profile(st, method, u)
    better = g[:, 0] >= g_grid[np.arange(len(k)), k]
    u = np.where(better, u[:, 0], grid[k])[:, None]
    g, rho, v = (x[:, 0] if x is not None else None for x in _profile(st, method, u))

    N, L = st.n_rx, st.n_symbols
    alpha = rho * np.sqrt(scenario.noise_power) + 0j
    if v is not None:
        alpha = alpha * np.exp(1j * np.angle(v))
    loglik = L * (g - N * np.log(np.pi) - st.trace - N * np.log(scenario.noise_power))
    out = [np.arcsin(u[:, 0]).reshape(batch), alpha.reshape(batch), loglik.reshape(batch)]
    if not batch:
        out = [x.item() for x in out]
    return DoaEstimate(*out, method=method)
