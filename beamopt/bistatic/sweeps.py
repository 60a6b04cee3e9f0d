r"""Sensing-only CRB sweeps of the CRB-rate paper's Section V-A (Figures 2-4).

All signals point at the target with maximum-ratio transmission (MRT)
$M = (P/N_t)\, a a^H$:

* `"gaussian"`: Gaussian information signal only, $W = M$, $R_s = 0$;
* `"deterministic"`: deterministic sensing signal only, $W = 0$, $R_s = M$;
* `"superposition"`: a fixed power split, $W = (1-f) M$, $R_s = f M$, with
  deterministic power fraction $f$.

[`crb_sweep`][beamopt.bistatic.sweeps.crb_sweep] evaluates the CRBs (and, optionally, the Monte
Carlo MSE of the DoA estimators) over a list of scenarios, e.g. from
[`with_sensing_snr`][beamopt.bistatic.sweeps.with_sensing_snr].
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from numpy.linalg import norm

from .._io import csv_text, write_atomic
from .._parallel import check_executor, run_tasks, spawn_generators
from .._repr import short_repr, span
from .._validation import as_array, as_generator, check_choice, check_int, check_unit_interval
from . import _lowrank as lowrank
from .closed_form import mrt_covariance
from .crb import crb_from_gains
from .echoes import doa_mse
from .scenario import BistaticScenario

__all__ = ["SENSING_SIGNALS", "CrbSweep", "sensing_only_design", "with_sensing_snr", "crb_sweep"]

#: Signal models of the sensing-only benchmarks (Section V-A).
SENSING_SIGNALS = ("gaussian", "deterministic", "superposition")


def sensing_only_design(
    scenario: BistaticScenario, signal: str = "gaussian", deterministic_fraction: float = 0.1
) -> tuple[np.ndarray, np.ndarray]:
    r"""Sensing-only transmit covariances of the CRB-rate paper's Section V-A.

    Parameters
    ----------
    scenario : BistaticScenario
    signal : {"gaussian", "deterministic", "superposition"}
        `"gaussian"`: $(W, R_s) = (M, 0)$; `"deterministic"`: $(0, M)$;
        `"superposition"`: $((1-f) M, f M)$, with $M = (P/N_t) a a^H$.
    deterministic_fraction : float
        Power fraction $f \in [0, 1]$ of the deterministic signal in `"superposition"`.

    Returns
    -------
    W, Rs : ndarray, shape (n_tx, n_tx), complex
        Information covariance and deterministic sample covariance, $\mathrm{tr}(W + R_s)
        = P$. Evaluate the CRB with `Rs=None` for `"gaussian"`.
    """
    check_choice(signal, "signal", SENSING_SIGNALS)
    f = float(check_unit_interval(deterministic_fraction, "deterministic_fraction"))
    M = mrt_covariance(scenario.a, scenario.power)
    share = _deterministic_share(signal, f)
    return (1.0 - share) * M, share * M


def _deterministic_share(signal: str, f: float) -> float:
    return {"gaussian": 0.0, "deterministic": 1.0, "superposition": f}[signal]


def with_sensing_snr(scenario: BistaticScenario, snr_db) -> list[BistaticScenario]:
    r"""Copies of `scenario` whose sensing noise gives the requested sensing SNRs.

    The sensing SNR is the receive SNR of full-power MRT summed over both arrays,
    $g_0 P N_t N_r = |\alpha|^2 P N_t N_r/\sigma_s^2$
    (`BistaticScenario.sensing_snr`); only $\sigma_s^2$ is changed.

    Parameters
    ----------
    scenario : BistaticScenario
    snr_db : float or array_like, shape (n,)
        Target sensing SNRs in dB.

    Returns
    -------
    list of BistaticScenario, length n
    """
    snr = 10.0 ** (as_array(snr_db, "snr_db", dtype=float, ndim=(0, 1)).ravel() / 10.0)
    signal_power = abs(scenario.alpha) ** 2 * scenario.power * scenario.n_tx * scenario.n_rx
    return [scenario.replace(noise_power=signal_power / s) for s in snr]


@dataclass(frozen=True, eq=False)
class CrbSweep:
    r"""Sensing-only CRB (and optionally estimator MSE) curves along a parameter sweep.

    Attributes
    ----------
    x : ndarray, shape (n,)
        Swept parameter values (unit in `x_label`).
    x_label : str
        Axis label of the swept parameter, e.g. `"sensing SNR (dB)"`.
    signals : tuple of str
        Signal models, one per row of `crb` (see
        [`sensing_only_design`][beamopt.bistatic.sweeps.sensing_only_design]).
    crb : ndarray, shape (n_signals, n)
        DoA CRB, rad^2.
    mse : ndarray, shape (n_signals, n) or None
        Monte Carlo MSE of the DoA estimator ([`beamopt.doa_mse`][beamopt.bistatic.echoes.doa_mse]),
        rad^2; None when no trials were run.
    sensing_snr_db : ndarray, shape (n,)
        Sensing SNR $10\log_{10}(g_0 P N_t N_r)$ of each point, dB.
    metadata : dict
        JSON-serialisable description (deterministic fraction, trials, ...).
    """

    x: np.ndarray
    x_label: str
    signals: tuple[str, ...]
    crb: np.ndarray
    mse: np.ndarray | None
    sensing_snr_db: np.ndarray
    metadata: dict = field(default_factory=dict)

    def __repr__(self) -> str:
        return short_repr(self, {
            "x_label": self.x_label, "n_points": self.x.size,
            "x": span(self.x),
            "signals": self.signals,
            "crb": span(self.crb), "mse": None if self.mse is None else span(self.mse),
            "n_trials": self.metadata.get("n_trials") or None,
        })  # fmt: skip

    def plot(self, ax=None, **kwargs):
        """Draw the curves with [`beamopt.plots.plot_crb_sweep`][]; returns the Axes."""
        from .plots import plot_crb_sweep

        return plot_crb_sweep(self, ax=ax, **kwargs)

    def to_csv(self, path) -> Path:
        """Write the curves to `path` (CSV, written atomically); returns the path.

        Columns: `x, sensing_snr_db, crb_<signal>..., [mse_<signal>...]`; the first line is
        a `#` comment with the axis label.
        """
        header = ["x", "sensing_snr_db", *(f"crb_{s}" for s in self.signals)]
        cols = [self.x, self.sensing_snr_db, *self.crb]
        if self.mse is not None:
            header += [f"mse_{s}" for s in self.signals]
            cols += list(self.mse)
        return write_atomic(path, csv_text(header, cols, [f"x: {self.x_label}"]))


def crb_sweep(
    scenarios: Sequence[BistaticScenario],
    x,
    *,
    x_label: str = "x",
    signals: Sequence[str] = SENSING_SIGNALS,
    deterministic_fraction: float = 0.1,
    n_trials: int = 0,
    rng=None,
    executor=None,
    progress: bool = False,
) -> CrbSweep:
    r"""Sensing-only CRBs (and estimator MSEs) of the Section V-A signals over scenarios.

    The analogue of the CRB-rate paper's Figures 2-4: each scenario (e.g. one per sensing SNR,
    transmit power or target-receiver distance) is evaluated with the designs of
    [`sensing_only_design`][beamopt.bistatic.sweeps.sensing_only_design].

    Parameters
    ----------
    scenarios : sequence of BistaticScenario, length n
        One scenario per sweep point (see
        [`with_sensing_snr`][beamopt.bistatic.sweeps.with_sensing_snr] and
        [`BistaticScenario.from_geometry`][beamopt.BistaticScenario.from_geometry]).
    x : array_like, shape (n,)
        Value of the swept parameter at each scenario, for plotting and CSV.
    x_label : str
        Axis label for `x` including its unit.
    signals : sequence of {"gaussian", "deterministic", "superposition"}
    deterministic_fraction : float
        Deterministic power fraction $f \in [0, 1]$ of the `"superposition"` signal.
    n_trials : int
        Monte Carlo trials per point for the estimator MSE via
        [`beamopt.doa_mse`][beamopt.bistatic.echoes.doa_mse]; 0 (default) skips the estimator.
    rng : None, int or numpy.random.Generator
        Randomness of the Monte Carlo trials: point $j$ draws from child $j$ of `rng`
        (`numpy.random.Generator.spawn`), its signals in turn.
    executor : concurrent.futures.Executor, optional
        Runs the Monte Carlo of each point (with `n_trials > 0`): a thread or process
        pool, or dask.distributed's `Client.get_executor()`; None runs them here. Every
        executor gives the same numbers as the serial loop.
    progress : bool
        Show a progress bar over the sweep points (off by default; the command line turns
        it on).

    Returns
    -------
    CrbSweep

    Raises
    ------
    ValueError
        For unknown signals, mismatched lengths or `n_trials` not an integer >= 0
        ([`beamopt.doa_mse`][beamopt.bistatic.echoes.doa_mse] needs at least 2).
    """
    signals = tuple(check_choice(s, "signals", SENSING_SIGNALS) for s in signals)
    x = as_array(x, "x", dtype=float, ndim=1)
    if len(scenarios) != x.size or x.size == 0:
        raise ValueError(
            f"scenarios and x must have the same non-zero length; got {len(scenarios)} and {x.size}"
        )
    n_trials = check_int(n_trials, "n_trials", minimum=0)
    if n_trials == 1:
        raise ValueError("n_trials must be 0 (no estimator) or an integer >= 2; got 1")
    check_executor(executor)
    gen = as_generator(rng)
    f = float(check_unit_interval(deterministic_fraction, "deterministic_fraction"))
    crb = np.empty((len(signals), x.size))
    for j, sc in enumerate(scenarios):
        # every design is a share of one MRT beam: its gain a^H M a from the rank-one factor
        gain = lowrank.quad(sc.a, lowrank.from_vector(np.sqrt(sc.power) * sc.a / norm(sc.a)))
        for i, s in enumerate(signals):
            share = _deterministic_share(s, f)
            crb[i, j] = crb_from_gains(sc, (1.0 - share) * gain, share * gain)
    mse = None
    if n_trials > 0:
        gens = spawn_generators(gen, x.size)
        tasks = [(sc, signals, f, n_trials, g) for sc, g in zip(scenarios, gens)]
        rows = run_tasks(_point_mse, tasks, executor=executor, progress=progress, desc="sweep")
        mse = np.array(rows).T
    snr_db = 10.0 * np.log10([sc.sensing_snr for sc in scenarios])
    meta = {"deterministic_fraction": float(deterministic_fraction), "n_trials": n_trials}
    return CrbSweep(x, x_label, signals, crb, mse, snr_db, meta)


def _point_mse(scenario, signals, f, n_trials, rng) -> list[float]:
    """Estimator MSE of each signal at one sweep point (module level for process pools)."""
    out = []
    for s in signals:
        W, Rs = sensing_only_design(scenario, s, f)
        out.append(doa_mse(scenario, W, None if s == "gaussian" else Rs, n_trials=n_trials,
                           rng=rng).mse)  # fmt: skip
    return out
