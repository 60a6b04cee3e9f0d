"""The `beamopt` command line: figures analogous to the CRB-rate paper's Figures 2-6.

`beamopt SUBCOMMAND [--config FILE.toml] [--out DIR] [--quiet]` (or `python -m beamopt`)
writes a PNG and CSV file(s) to `DIR` (default `out/`) and prints their paths. The
config keys are documented in `beamopt.cli.config` and `docs/cli.md`; an invalid config
exits with status 2 and a one-line message naming the key. This module only parses the
config and calls the public API.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import sys
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

from .._io import write_atomic
from ..bistatic._labels import signal_name
from ..bistatic.boundary import average_boundary, crb_rate_boundary
from ..bistatic.scenario import BistaticScenario
from ..bistatic.schemes import BOUNDARY_SIGNALS
from ..bistatic.sweeps import crb_sweep, with_sensing_snr
from ..errors import InfeasibleError, SolverError
from ..plots import plot_boundaries
from .config import ConfigError, load_config, scenario_kwargs

__all__ = ["main", "SUBCOMMANDS"]


# ----------------------------------------------------------------------------- output
def _save_figure(path: Path, draw: Callable, title: str) -> Path:
    """Draw on a fresh Agg figure (no pyplot state) and write the PNG atomically."""
    from matplotlib.figure import Figure

    fig = Figure(figsize=(6.4, 4.8), layout="constrained")
    ax = fig.add_subplot()
    draw(ax)
    ax.set_title(title)
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=150)
    return write_atomic(path, buf.getvalue())


def _scenario(cfg, **changes) -> BistaticScenario:
    return BistaticScenario.from_geometry(**{**scenario_kwargs(cfg), **changes})


def _sweep_outputs(out: Path, name: str, sweep, title: str) -> list[Path]:
    return [
        _save_figure(out / f"{name}.png", sweep.plot, title),
        sweep.to_csv(out / f"{name}.csv"),
    ]


# -------------------------------------------------------------------- sensing sweeps
def _crb_vs_snr(cfg, out, progress):
    snr = np.linspace(cfg["snr_min_db"], cfg["snr_max_db"], cfg["n_points"])
    sweep = crb_sweep(
        with_sensing_snr(_scenario(cfg), snr),
        snr,
        x_label="sensing SNR (dB)",
        deterministic_fraction=cfg["deterministic_fraction"],
        n_trials=cfg["n_trials"],
        rng=cfg["seed"],
        progress=progress,
    )
    return _sweep_outputs(out, "crb_vs_snr", sweep, "DoA CRB vs sensing SNR")


def _geometry_sweep(key, lo, hi, x_label, name, title):
    """A CRB sweep over one `from_geometry` parameter between two config keys."""

    def run(cfg, out, progress):
        x = np.linspace(cfg[lo], cfg[hi], cfg["n_points"])
        sweep = crb_sweep(
            [_scenario(cfg, **{key: float(v)}) for v in x],
            x,
            x_label=x_label,
            deterministic_fraction=cfg["deterministic_fraction"],
        )
        return _sweep_outputs(out, name, sweep, title)

    return run


_crb_vs_power = _geometry_sweep(
    "power_dbm", "power_min_dbm", "power_max_dbm", "transmit power (dBm)",
    "crb_vs_power", "DoA CRB vs transmit power",
)  # fmt: skip
_crb_vs_distance = _geometry_sweep(
    "d_target_rx", "distance_min", "distance_max", "target-receiver distance (m)",
    "crb_vs_distance", "DoA CRB vs target-receiver distance",
)  # fmt: skip


# ------------------------------------------------------------------------ boundaries
def _executor(workers: int):
    if workers == 0:
        return contextlib.nullcontext(None)
    from concurrent.futures import ProcessPoolExecutor

    return ProcessPoolExecutor(max_workers=workers)


def _front(cfg, signal: str, scheme: str, progress: bool, executor):
    method = cfg["superposition_method"] if signal == "superposition" else "auto"
    if cfg["n_draws"] == 1:
        return crb_rate_boundary(
            _scenario(cfg), signal, scheme, cfg["n_points"], method=method, progress=progress
        )
    kwargs = scenario_kwargs(cfg)
    seed = kwargs.pop("rng")
    return average_boundary(
        kwargs,
        cfg["n_draws"],
        seed,
        signal=signal,
        scheme=scheme,
        n_points=cfg["n_points"],
        method=method,
        executor=executor,
        progress=progress,
        spacing="knee",
    )


def _fronts(cfg, pairs, progress: bool):
    """Boundaries for (signal, scheme) pairs."""
    # one worker pool for all boundaries; the same seed gives every boundary the same draws
    with _executor(cfg["workers"] if cfg["n_draws"] > 1 else 0) as executor:
        fronts = [_front(cfg, signal, scheme, progress, executor) for signal, scheme, _ in pairs]
    return fronts, [name for *_, name in pairs]


def _front_outputs(out: Path, name: str, fronts, keys, title: str) -> list[Path]:
    paths = [_save_figure(out / f"{name}.png", lambda ax: plot_boundaries(fronts, ax), title)]
    paths += [f.to_csv(out / f"{name}_{k}.csv") for f, k in zip(fronts, keys)]
    return paths


def _boundary(cfg, out, progress):
    pairs = [(signal, "optimal", signal) for signal in BOUNDARY_SIGNALS]
    fronts, names = _fronts(cfg, pairs, progress)
    return _front_outputs(out, "boundary", fronts, names, "CRB-rate boundary per signal model")


def _schemes(cfg, out, progress):
    pairs = [(cfg["signal"], s, s) for s in ("optimal", "time_switching", "power_splitting")]
    fronts, names = _fronts(cfg, pairs, progress)
    title = f"CRB-rate boundary per scheme: {signal_name(cfg['signal'])}"
    return _front_outputs(out, "schemes", fronts, names, title)


#: Subcommand name -> (handler, one-line help).
SUBCOMMANDS: dict[str, tuple[Callable, str]] = {
    "crb-vs-snr": (_crb_vs_snr, "CRB (and estimator MSE) vs sensing SNR per signal (Fig. 2)"),
    "crb-vs-power": (_crb_vs_power, "CRB vs transmit power per signal (Fig. 3)"),
    "crb-vs-distance": (_crb_vs_distance, "CRB vs target-receiver distance per signal (Fig. 4)"),
    "boundary": (_boundary, "CRB-rate boundaries: gaussian, superposition, known (Fig. 5)"),
    "schemes": (
        _schemes,
        "CRB-rate boundaries: optimal, time switching, power splitting (Fig. 6)",
    ),
}


def _parser() -> argparse.ArgumentParser:
    from .. import __version__

    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--config", metavar="FILE.toml", help="TOML file overriding defaults")
    common.add_argument("--out", metavar="DIR", default="out", help="output folder (out/)")
    common.add_argument("--quiet", action="store_true", help="no progress bars")
    parser = argparse.ArgumentParser(
        prog="beamopt", description="Bistatic ISAC CRB figures and CRB-rate boundaries."
    )
    parser.add_argument("--version", action="version", version=f"beamopt {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="SUBCOMMAND")
    for name, (_, help_) in SUBCOMMANDS.items():
        sub.add_parser(name, parents=[common], help=help_, description=help_)
    return parser


def _check_out(out: Path) -> str | None:
    """Why `--out` cannot be the output folder (None when it can), checked before computing."""
    for p in (out, *out.parents):
        if p.exists():
            if p.is_dir():
                break
            if p == out:
                return f"--out {str(out)!r} is an existing file; give a folder (created if missing)"
            return f"--out {str(out)!r} lies under {str(p)!r}, an existing file, not a folder"
    return None


def main(argv=None) -> int:
    """Run the command line; returns the exit status.

    0: success; 1: the requested computation is not available in this installation
    (infeasible targets or a failed solve); 2: invalid command line, config or `--out`
    (argparse exits with 2 itself), or an output file that cannot be written.

    Parameters
    ----------
    argv : list of str, optional
        Arguments without the program name; `sys.argv[1:]` when None.
    """
    args = _parser().parse_args(argv)
    try:
        cfg = load_config(args.config)
    except ConfigError as exc:
        print(f"beamopt: error: {exc}", file=sys.stderr)
        return 2
    problem = _check_out(Path(args.out))
    if problem is not None:
        print(f"beamopt: error: {problem}", file=sys.stderr)
        return 2
    start = time.perf_counter()
    handler = SUBCOMMANDS[args.command][0]
    try:
        paths = handler(cfg, Path(args.out), not args.quiet)
    except (InfeasibleError, SolverError) as exc:  # the scenario, not the program, is at fault
        print(f"beamopt: error: {exc}", file=sys.stderr)
        return 1
    except OSError as exc:  # e.g. a read-only folder: one line, not a traceback
        where = f" {exc.filename!r}" if exc.filename else ""
        print(f"beamopt: error: cannot write{where}: {exc.strerror or exc}", file=sys.stderr)
        return 2
    for path in paths:
        print(f"wrote {path}")
    print(f"{args.command}: done in {time.perf_counter() - start:.1f} s")
    return 0
