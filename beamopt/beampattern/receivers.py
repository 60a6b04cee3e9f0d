r"""Sensing and communication receivers: MAPRT detection, angle estimation, QAM detection.

Sensing (Model-Driven End-to-End Learning for Integrated Sensing and Communication,
eqs. (7)-(8), (14)): the statistic and the angle estimate are

$$
T(y) = \max_{\theta \in [\theta_{\min}, \theta_{\max}]} |a(\theta)^H y|^2,
\qquad \hat\theta = \arg\max_\theta |a(\theta)^H y|^2,
$$

and a target is declared when $T(y) > \bar\eta$. The threshold $\bar\eta$ for a target
false-alarm probability is the $(1 - P_{fa})$ quantile of $T$ under $\mathcal H_0$
($y = n \sim \mathcal{CN}(0, N_0 I)$), estimated by seeded Monte Carlo and cached per
receiver.

With element positions $p_k$ the search runs in $u = \sin\theta$, where
$a^H y = g(u) = \sum_k y_k e^{-j 2\pi p_k u}$:

1. **Grid.** A uniform grid in $u$ over the sector with step $\Delta u = B / n_b$, where
   $n_b$ is `points_per_beam` and $B = 1/(\sqrt2\,\pi\,\sigma_p)$,
   $\sigma_p^2 = \frac1K\sum_k (p_k - \bar p)^2$, is the half-power width of the quadratic
   approximation $|g(u_0 + \delta)|^2 / |g(u_0)|^2 \ge 1 - 4\pi^2\sigma_p^2\delta^2$ of a beam
   (about $1.56/K$ for the half-wavelength ULA, 12 % below its exact 3 dB width, so the
   grid is a little finer than asked). For uniformly spaced elements the grid powers are one
   FFT (zero-padded) or one chirp-z transform (Bluestein) per signal, whichever is cheaper;
   otherwise a matrix product with the grid's steering vectors.
2. **Candidates.** Every local maximum of the grid power within $2 \cdot 4\pi^2\sigma_p^2
   (\Delta u/2)^2$ (relative) of the largest, at most four: the global maximiser can sit
   that far below its peak on the grid, so a second peak is refined when it might win.
3. **Refinement.** A parabola through the log-powers of the candidate and its neighbours,
   then one Newton step on $f(u) = |g(u)|^2$ with the exact derivatives
   $f' = 2\,\mathrm{Re}(\bar g g')$, $f'' = 2(|g'|^2 + \mathrm{Re}(\bar g g''))$,
   $g^{(n)} = \sum_k (-j2\pi p_k)^n y_k e^{-j2\pi p_k u}$, clipped to the sector. $T$ is $f$
   evaluated exactly at the best refined point.

A learned dictionary
([`SensingReceiver.from_dictionary`][beamopt.SensingReceiver.from_dictionary])
is searched on its columns only. Every path works through the signals in blocks of bounded
memory.

Communication: with known CSI $\kappa$, the ML detector is
$\hat m = \arg\min_m |y_c - \kappa s(m)|^2$ over a unit-energy square QAM constellation.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from functools import cached_property

import numpy as np
import scipy.fft

from .._validation import (
    as_array,
    as_generator,
    check_choice,
    check_int,
    check_positive,
    readonly,
)
from .array_model import beamwidth, steering_matrix
from .sectors import check_sector

__all__ = [
    "SensingReceiver",
    "detection_threshold",
    "qam_constellation",
    "qam_detect",
    "QAM_ORDERS",
    "RECEIVER_METHODS",
]

#: Supported constellation sizes (BPSK and square QAM).
QAM_ORDERS = (2, 4, 16, 64, 256)
#: Grid evaluations of a position receiver (`"auto"` picks the cheapest that applies).
RECEIVER_METHODS = ("auto", "fft", "czt", "matmul")
#: Fewest expected noise exceedances `n_trials * p_fa` a threshold is estimated from.
MIN_EXCEEDANCES = 10
_THRESHOLDS: dict = {}
_MAX_CACHE = 256
_BLOCK_BYTES = 1 << 24  # working memory of one block of signals (16 MiB)
_MAX_CANDIDATES = 4
_EXACT_ABOVE = 1e-4  # predicted relative gain of a Newton step above which f is re-evaluated


@dataclass(frozen=True, eq=False, repr=False)
class SensingReceiver:
    """Matched-filter (MAPRT) receiver over a prior sector.

    Build it with
    [`SensingReceiver.from_positions`][beamopt.SensingReceiver.from_positions]
    (the continuous array model: grid, then refinement) or
    [`SensingReceiver.from_dictionary`][beamopt.SensingReceiver.from_dictionary]
    (a learned dictionary, grid only).

    Attributes
    ----------
    grid : ndarray, shape (n,)
        Grid angles in the sector (radians, ascending).
    sector : tuple of float
        The sector in radians.
    positions : ndarray or None
        Centred element positions (wavelengths) of the continuous model; `None` for a
        dictionary receiver.
    refine : bool
        Whether the grid maximum is refined on the continuous model (parabola + Newton).
    soft : bool
        Soft-argmax angle estimate (dictionary receivers).
    method : str
        How the grid powers are computed: `"fft"`, `"czt"`, `"matmul"` (position
        receivers) or `"dictionary"`.
    """

    grid: np.ndarray
    sector: tuple
    positions: np.ndarray | None = None
    refine: bool = False
    soft: bool = False
    method: str = "dictionary"
    key: str = field(default="", repr=False)
    columns: np.ndarray | None = field(default=None, repr=False)
    plan: dict = field(default_factory=dict, repr=False)

    # ------------------------------------------------------------------ constructors
    @classmethod
    def from_positions(
        cls,
        sector_deg,
        positions,
        *,
        points_per_beam: float = 8.0,
        n_grid: int | None = None,
        refine: bool = True,
        method: str = "auto",
    ) -> SensingReceiver:
        r"""Model-based receiver for an array with element `positions` (wavelengths).

        Parameters
        ----------
        sector_deg : array_like, shape (2,)
            Prior sector in degrees.
        positions : array_like, shape (K,)
            Element positions in wavelengths (ideal, impaired, calibrated or learned).
        points_per_beam : float
            Grid points per beamwidth $B$ in $u = \sin\theta$ (at least 4); sets the grid
            from $K$ and the aperture.
        n_grid : int, optional
            Grid points over the sector (uniform in $u$) instead of `points_per_beam`.
        refine : bool
            Refine the best candidates on the continuous model (parabola + one Newton step);
            `False` keeps the grid point (a quantised estimate).
        method : {"auto", "fft", "czt", "matmul"}
            Grid evaluation: zero-padded FFT or chirp-z transform (uniformly spaced elements
            only) or a matrix product; `"auto"` takes the cheapest that applies. All give the
            same statistic up to rounding.

        Raises
        ------
        ValueError
            For a bad sector, fewer than 2 distinct positions, `points_per_beam < 4`,
            `n_grid < 3`, or `"fft"`/`"czt"` with non-uniform positions.
        """
        lo, hi = np.deg2rad(check_sector(sector_deg))
        pos = as_array(positions, "positions", dtype=float, ndim=1)
        if pos.size < 2 or np.ptp(pos) == 0:
            raise ValueError(f"positions must hold at least 2 distinct elements; got {pos}")
        pos = pos - pos.mean()
        check_choice(method, "method", RECEIVER_METHODS)
        if not isinstance(refine, bool | np.bool_):
            raise ValueError(f"refine must be True or False; got {refine!r}")
        u_lo, u_hi = np.sin(lo), np.sin(hi)
        if n_grid is None:
            points_per_beam = check_positive(points_per_beam, "points_per_beam")
            if points_per_beam < 4:
                raise ValueError(f"points_per_beam must be >= 4; got {points_per_beam}")
            step = beamwidth(pos) / points_per_beam
        else:
            step = (u_hi - u_lo) / (check_int(n_grid, "n_grid", minimum=3) - 1)
        K = pos.size
        order = np.argsort(pos, kind="stable")
        gaps = np.diff(pos[order])
        d = float(gaps.mean())
        uniform = bool(np.all(np.abs(gaps - d) <= 1e-9 * max(1.0, d)))
        if method in ("fft", "czt") and not uniform:
            raise ValueError(f"method={method!r} needs uniformly spaced positions; use 'matmul'")
        M = max(3, int(np.ceil((u_hi - u_lo) / step - 1e-9)) + 1)
        N = max(K, scipy.fft.next_fast_len(int(np.ceil(1.0 / (d * step)))))
        N = max(N, scipy.fft.next_fast_len(int(np.ceil(2.0 / (d * (u_hi - u_lo))))))
        L = scipy.fft.next_fast_len(K + M - 1)
        costs = {"matmul": 2.0 * K * M}
        if uniform and n_grid is None:
            costs["fft"] = 5.0 * N * np.log2(N)
        if uniform:
            costs["czt"] = 10.0 * L * np.log2(L) + 10.0 * L
        if method == "auto":
            method = min(costs, key=costs.get)
        elif method == "fft" and n_grid is not None:
            raise ValueError("method='fft' sets its own grid; leave n_grid=None or use 'czt'")

        plan: dict = {"order": order, "sorted": bool(np.all(order == np.arange(K)))}
        if method == "fft":
            # FFT bins inside the sector plus its two endpoints (a maximum on the boundary
            # is no stationary point, so a bin next to it can sit a first-order loss below)
            j = np.arange(np.ceil(u_lo * N * d + 1e-9), np.floor(u_hi * N * d - 1e-9) + 1)
            u = np.concatenate([[u_lo], j / (N * d), [u_hi]])
            edges = np.exp(2j * np.pi * pos[:, None] * np.array([u_lo, u_hi])[None, :])
            plan.update(n_fft=N, bins=(j.astype(np.int64) % N), edges=edges, work=N)
        else:
            u = np.linspace(u_lo, u_hi, M)
            if method == "czt":
                plan.update(_bluestein(K, M, d * u_lo, d * (u_hi - u_lo) / (M - 1), L), work=2 * L)
            else:
                plan.update(work=2 * M)
        columns = steering_matrix(np.arcsin(u), pos) if method == "matmul" else None
        step = float(np.max(np.diff(u), initial=step))
        # the largest relative loss of a beam's peak half a step off the grid, doubled
        margin = 2.0 * 4 * np.pi**2 * np.mean(pos**2) * (step / 2) ** 2
        plan.update(u=readonly(u), step=step, margin=float(margin), uniform=uniform, spacing=d)
        h = hashlib.sha1(pos.tobytes())
        h.update(u.tobytes())
        h.update(f"{method}|{bool(refine)}".encode())
        return cls(readonly(np.arcsin(u)), (float(lo), float(hi)), readonly(pos), bool(refine),
                   False, method, h.hexdigest(),
                   None if columns is None else readonly(columns), plan)  # fmt: skip

    @classmethod
    def from_dictionary(cls, dictionary, grid, sector_deg, *, soft: bool = True):
        r"""Receiver on the dictionary columns whose grid angles lie in the sector (eq. (14)).

        With `soft=True` the angle estimate is the soft-argmax of eq. (13),
        $\hat\theta = \operatorname{softmax}(|A^H y|)^\top \theta_{grid}$ over the sector
        (what [`train_model_driven`][beamopt.beampattern.learning.train_model_driven] optimises);
        otherwise the grid angle of the largest $|a_i^H y|$. Detection uses the maximum either way.
        """
        lo, hi = np.deg2rad(check_sector(sector_deg))
        grid = as_array(grid, "grid", dtype=float, ndim=1)
        D = as_array(dictionary, "dictionary", dtype=complex, ndim=2)
        if D.shape[1] != grid.size:
            raise ValueError(f"dictionary must have {grid.size} columns (one per grid angle)")
        inside = (grid >= lo - 1e-12) & (grid <= hi + 1e-12)
        if not inside.any():
            raise ValueError("sector_deg contains no grid angle of the dictionary")
        D = D[:, inside]
        h = hashlib.sha1(np.ascontiguousarray(D).tobytes())
        h.update(np.ascontiguousarray(grid[inside]).tobytes())
        h.update(f"dictionary|{bool(soft)}".encode())
        return cls(readonly(grid[inside]), (float(lo), float(hi)), None, False, bool(soft),
                   "dictionary", h.hexdigest(), readonly(D), {"work": 2 * D.shape[1]})  # fmt: skip

    def __repr__(self) -> str:
        lo, hi = np.rad2deg(self.sector)
        est = "soft-argmax" if self.soft else ("refined" if self.refine else "grid argmax")
        return (f"SensingReceiver(K={self.n_tx}, sector=({lo:g}, {hi:g}) deg, "
                f"{self.grid.size} grid points, method={self.method!r}, {est})")  # fmt: skip

    # ------------------------------------------------------------------ properties
    @property
    def n_tx(self) -> int:
        """Number of elements $K$ the receiver expects."""
        return self.positions.size if self.positions is not None else self.columns.shape[0]

    @cached_property
    def dictionary(self) -> np.ndarray:
        """Steering vectors of the grid angles as columns, shape (K, n), complex."""
        if self.columns is not None:
            return self.columns
        return readonly(steering_matrix(self.grid, self.positions))

    def block_rows(self) -> int:
        """Signals per block, so one block's working arrays stay near 16 MiB."""
        per_row = 16 * (3 * self.n_tx + self.plan.get("work", 0))
        return max(1, _BLOCK_BYTES // per_row)

    # ------------------------------------------------------------------ statistic
    def statistic(self, y):
        r"""Test statistic $T(y)$ and angle estimate $\hat\theta$ for received signals `y`.

        Parameters
        ----------
        y : array_like, shape (..., K)

        Returns
        -------
        T : ndarray, shape (...)
        theta_hat : ndarray, shape (...), radians
        """
        y = np.asarray(y, dtype=complex)
        if y.ndim == 0 or y.shape[-1] != self.n_tx:
            raise ValueError(
                f"y must have shape (..., {self.n_tx}) for this {self.n_tx}-element receiver; "
                f"got {y.shape}"
            )
        flat = y.reshape(-1, self.n_tx)
        T, theta = np.empty(flat.shape[0]), np.empty(flat.shape[0])
        rows = self.block_rows()
        for s in range(0, flat.shape[0], rows):
            T[s : s + rows], theta[s : s + rows] = self._block(flat[s : s + rows])
        return T.reshape(y.shape[:-1]), theta.reshape(y.shape[:-1])

    def _grid_power(self, y):
        # with refinement the grid only picks candidates (T is evaluated exactly afterwards),
        # so the transforms run in single precision: half the time and memory
        single = self.refine and self.method in ("fft", "czt")
        if self.method == "fft":
            x = y[:, self.plan["order"]].astype(np.complex64 if single else complex)
            F = scipy.fft.fft(x, n=self.plan["n_fft"], axis=-1, overwrite_x=True)
            ends = y @ self.plan["edges"].conj()
            return _abs2(np.concatenate([ends[:, :1], F[:, self.plan["bins"]], ends[:, 1:]], 1))
        if self.method == "czt":
            pre, kernel, M = self.plan["pre"], self.plan["kernel"], self.plan["n_points"]
            K = pre.size
            buf = np.zeros((y.shape[0], kernel.size), dtype=np.complex64 if single else complex)
            np.multiply(y[:, self.plan["order"]], pre, out=buf[:, :K], casting="same_kind")
            F = scipy.fft.fft(buf, axis=-1, overwrite_x=True)
            F *= kernel.astype(F.dtype)
            return _abs2(scipy.fft.ifft(F, axis=-1, overwrite_x=True)[:, K - 1 : K - 1 + M])
        return _abs2(y @ self.dictionary.conj())

    def _block(self, y):
        power = self._grid_power(y)
        idx = np.argmax(power, axis=-1)
        rows = np.arange(y.shape[0])
        T = power[rows, idx]
        if self.soft:
            z = np.sqrt(power)
            w = np.exp(z - z.max(axis=-1, keepdims=True))
            return T, (w @ self.grid) / w.sum(axis=-1)
        if self.positions is None or not self.refine:
            return T, self.grid[idx]
        T, u = self._refine(y, power, T)
        return T, np.arcsin(u)

    def _refine(self, y, power, best):
        """Parabola + one Newton step from every candidate peak; the best refined value."""
        u_grid, step = self.plan["u"], self.plan["step"]
        M = power.shape[1]
        left = np.concatenate([np.full((power.shape[0], 1), -np.inf), power[:, :-1]], axis=1)
        right = np.concatenate([power[:, 1:], np.full((power.shape[0], 1), -np.inf)], axis=1)
        peak = (power >= left) & (power > right)
        peak &= power >= (1.0 - self.plan["margin"]) * best[:, None]
        r, c = np.nonzero(peak)
        vals = power[r, c]
        order = np.lexsort((-vals, r))
        r, c = r[order], c[order]
        first = np.searchsorted(r, r)  # r is sorted: index of each row's first candidate
        keep = np.arange(r.size) - first < _MAX_CANDIDATES
        r, c = r[keep], c[keep]

        # vertex of the parabola through the log-powers of the candidate and its neighbours
        # (the grid may be non-uniform next to the sector's endpoints)
        inner = (c > 0) & (c < M - 1)
        cl, cr = np.clip(c - 1, 0, M - 1), np.clip(c + 1, 0, M - 1)
        lg = np.log(np.maximum(power[r[:, None], np.stack([cl, c, cr], 1)], 1e-300))
        x0, x1, x2 = u_grid[cl] - u_grid[c], 0.0, u_grid[cr] - u_grid[c]
        y0, y1, y2 = lg[:, 0], lg[:, 1], lg[:, 2]
        num = x0**2 * (y1 - y2) - x2**2 * (y1 - y0)
        den = x0 * (y1 - y2) - x2 * (y1 - y0)
        # a maximum needs the centre above the chord: den < 0 for x0 < 0 < x2
        ok = inner & (den < 0)
        shift = np.where(ok, x1 + 0.5 * num / np.where(ok, den, -1.0), 0.0)
        u0 = u_grid[c] + np.clip(shift, x0, x2)

        lo, hi = np.sin(self.sector[0]), np.sin(self.sector[1])
        u0 = np.clip(u0, lo, hi)
        Y = y[r]
        g, g1, g2 = self._derivatives(Y, u0)
        f0 = _abs2(g)
        f1 = 2 * np.real(np.conj(g) * g1)
        f2 = 2 * (_abs2(g1) + np.real(np.conj(g) * g2))
        newton = np.where(f2 < 0, -f1 / np.where(f2 < 0, f2, -1.0), 0.0)
        u = np.clip(u0 + np.clip(newton, -step, step), lo, hi)
        # f at the Newton point from its second-order model: the step is a small fraction of
        # the beam (the parabola started close), so the model's cubic error is far below
        # 1e-6 relative; where the model predicts a gain above 1e-4 the start was poor and f
        # is evaluated exactly instead
        du = u - u0
        val = f0 + f1 * du + 0.5 * f2 * du**2
        far = val > (1.0 + _EXACT_ABOVE) * f0
        if far.any():
            exact = _abs2(self._derivatives(Y[far], u[far], order=0)[0])
            worse = exact < f0[far]
            val[far] = np.where(worse, f0[far], exact)
            u[far] = np.where(worse, u0[far], u[far])
        val = np.maximum(val, f0)

        # best candidate of each row
        n = y.shape[0]
        T = np.full(n, -np.inf)
        np.maximum.at(T, r, val)
        win = val == T[r]
        u_best = np.empty(n)
        u_best[r[win]] = u[win]
        return T, u_best

    def _derivatives(self, Y, u, order: int = 2):
        r"""$g^{(n)}(u) = \sum_k (-j2\pi p_k)^n y_k e^{-j2\pi p_k u}$ for n = 0..order."""
        p = self.positions
        if self.plan.get("uniform"):
            # e^{-j2π p_k u} = e^{-j2π p_0 u} z^k along the sorted elements: a cumulative
            # product instead of K complex exponentials per point (error ~ K eps)
            o = self.plan["order"]
            if not self.plan["sorted"]:
                p, Y = p[o], Y[:, o]
            E = np.empty((u.size, p.size), dtype=complex)
            E[:, 0] = np.exp(-2j * np.pi * p[0] * u)
            E[:, 1:] = np.exp(-2j * np.pi * self.plan["spacing"] * u)[:, None]
            np.cumprod(E, axis=1, out=E)
        else:
            E = np.exp(-2j * np.pi * u[:, None] * p[None, :])
        E *= Y
        W = np.stack([(-2j * np.pi * p) ** n for n in range(order + 1)], axis=1)
        out = E @ W
        return tuple(out[:, n] for n in range(order + 1))


def _abs2(z) -> np.ndarray:
    """$|z|^2$ in float64 without the square root of `np.abs`."""
    return np.square(z.real, dtype=float) + np.square(z.imag, dtype=float)


def _bluestein(K: int, M: int, start: float, step: float, L: int) -> dict:
    r"""Chirp-z (Bluestein) plan for $X_q = \sum_{k<K} x_k e^{-j2\pi k (s + q\Delta)}$, q < M.

    With $qk = (q^2 + k^2 - (q-k)^2)/2$, $|X_q| = |(h * v)_q|$ for
    $v_k = x_k e^{-j2\pi(s k + \Delta k^2/2)}$ and $h_n = e^{j\pi\Delta n^2}$: one FFT
    convolution of length $L \ge K + M - 1$ (the unit-modulus output chirp is dropped).
    """
    k = np.arange(K, dtype=float)
    pre = np.exp(-2j * np.pi * (start * k + np.mod(0.5 * step * k * k, 1.0)))
    n = np.arange(-(K - 1), M, dtype=float)
    h = np.zeros(L, dtype=complex)
    h[: n.size] = np.exp(2j * np.pi * np.mod(0.5 * step * n * n, 1.0))
    return {"pre": pre, "kernel": scipy.fft.fft(h), "n_points": M}


def detection_threshold(
    receiver: SensingReceiver,
    p_fa: float = 1e-2,
    *,
    noise_power: float = 1.0,
    n_trials: int = 20_000,
    rng=0,
) -> float:
    r"""Threshold $\bar\eta$ with $P(T(n) > \bar\eta) = P_{fa}$ under $\mathcal H_0$ (Monte Carlo).

    Cached per (receiver, `p_fa`, `noise_power`, `n_trials`, integer seed `rng`), so
    sweeps over $\rho$ reuse one threshold per sector. The noise is drawn and reduced to
    statistics in blocks, so the memory stays bounded (tens of MB) at any `n_trials` and $K$.

    Parameters
    ----------
    receiver : SensingReceiver
    p_fa : float
        Target false-alarm probability in $(0, 1)$.
    noise_power : float
        $N_0 > 0$.
    n_trials : int
        Noise-only draws, at least `MIN_EXCEEDANCES / p_fa` (10 expected exceedances); the
        relative error of the $P_{fa}$ achieved is about $1/\sqrt{n_{trials} P_{fa}}$.
    rng : int or numpy.random.Generator
        Seed (cached) or generator (not cached).

    Returns
    -------
    float

    Raises
    ------
    ValueError
        If `p_fa` is outside $(0, 1)$ or `n_trials * p_fa < 10`.
    """
    p_fa = check_positive(p_fa, "p_fa")
    if p_fa >= 1:
        raise ValueError(f"p_fa must lie in (0, 1); got {p_fa}")
    noise_power = check_positive(noise_power, "noise_power")
    n_trials = check_int(n_trials, "n_trials", minimum=10)
    check_exceedances(n_trials, p_fa, "n_trials")
    key = None
    if isinstance(rng, int | np.integer):
        key = (receiver.key, p_fa, noise_power, n_trials, int(rng))
        if key in _THRESHOLDS:
            return _THRESHOLDS[key]
    gen = as_generator(rng)
    K = receiver.n_tx
    T = np.empty(n_trials)
    rows = max(1, min(4096, (1 << 19) // K))  # noise blocks of ~8 MiB, independent of method
    for start in range(0, n_trials, rows):
        m = min(rows, n_trials - start)
        # interleaved real and imaginary parts, viewed as complex: no temporaries
        n = gen.standard_normal((m, 2 * K)).view(complex)
        n *= np.sqrt(noise_power / 2)
        T[start : start + m] = receiver.statistic(n)[0]
    eta = float(np.quantile(T, 1 - p_fa))
    if key is not None:
        if len(_THRESHOLDS) >= _MAX_CACHE:
            _THRESHOLDS.pop(next(iter(_THRESHOLDS)))
        _THRESHOLDS[key] = eta
    return eta


def check_exceedances(n_trials: int, p_fa: float, name: str) -> None:
    """Require at least `MIN_EXCEEDANCES` expected noise exceedances for a quantile."""
    if n_trials * p_fa < MIN_EXCEEDANCES:
        raise ValueError(
            f"{name}={n_trials} at p_fa={p_fa:g} gives {n_trials * p_fa:.3g} expected "
            f"exceedances of the threshold; need >= {MIN_EXCEEDANCES} "
            f"({name} >= {int(np.ceil(MIN_EXCEEDANCES / p_fa))})"
        )


def qam_constellation(order: int, *, name: str = "order") -> np.ndarray:
    """Unit-average-energy constellation of `order` points (BPSK or square QAM).

    Raises
    ------
    ValueError
        If `order` is not one of `QAM_ORDERS` (2, 4, 16, 64, 256).
    """
    if isinstance(order, bool) or order not in QAM_ORDERS:
        raise ValueError(f"{name} must be one of {QAM_ORDERS}; got {order!r}")
    if order == 2:
        return np.array([-1.0 + 0j, 1.0 + 0j])
    m = round(np.sqrt(order))
    levels = np.arange(-(m - 1), m, 2, dtype=float)
    pts = (levels[:, None] + 1j * levels[None, :]).ravel()
    return pts / np.sqrt(np.mean(np.abs(pts) ** 2))


def qam_detect(y, csi, constellation) -> np.ndarray:
    r"""ML symbol indices $\arg\min_m |y - \kappa s_m|^2$ given the CSI $\kappa$ (broadcasts)."""
    y = np.asarray(y, dtype=complex)
    csi = np.asarray(csi, dtype=complex)
    s = np.asarray(constellation, dtype=complex)
    return np.argmin(np.abs(y[..., None] - csi[..., None] * s) ** 2, axis=-1)
