"""The `beamopt` command line: figures analogous to the CRB-rate paper's Figures 2-6.

`beamopt SUBCOMMAND [--config FILE.toml] [--out DIR] [--format png|pdf|svg] [--dpi N]
[--quiet] [--n-points N] [--workers N] ...` (or `python -m beamopt`) writes a figure and CSV
file(s) to `DIR` (default `out/`) and prints their paths. Every config key of
`beamopt.cli.config` also has a flag (`n_points` -> `--n-points`) that overrides the TOML
file. An invalid config, flag or `--out` exits with status 2 and a one-line message naming
it, before anything is computed. This module only parses the config and calls the public
API.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import os
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
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
from .config import OPTIONS, ConfigError, flag, load_config, scenario_kwargs

__all__ = ["main", "SUBCOMMANDS", "FORMATS", "Output"]

#: Figure formats of `--format`.
FORMATS = ("png", "pdf", "svg")


# ----------------------------------------------------------------------------- output
@dataclass(frozen=True)
class Output:
    """Where and how the figures are written: folder, format, resolution, size in inches."""

    folder: Path
    format: str = "png"
    dpi: int = 150
    figsize: tuple[float, float] = (6.4, 4.8)

    def __truediv__(self, name: str) -> Path:
        return self.folder / name

    def figure(self, stem: str, draw: Callable, title: str) -> Path:
        """Draw on a fresh Agg figure (no pyplot state) and write it atomically."""
        from matplotlib.figure import Figure

        fig = Figure(figsize=self.figsize, layout="constrained")
        ax = fig.add_subplot()
        draw(ax)
        ax.set_title(title)
        buf = io.BytesIO()
        fig.savefig(buf, format=self.format, dpi=self.dpi)
        return write_atomic(self.folder / f"{stem}.{self.format}", buf.getvalue())


def _scenario(cfg, **changes) -> BistaticScenario:
    return BistaticScenario.from_geometry(**{**scenario_kwargs(cfg), **changes})


def _sweep_outputs(out: Output, name: str, sweep, title: str) -> list[Path]:
    return [out.figure(name, sweep.plot, title), sweep.to_csv(out / f"{name}.csv")]


def _executor(workers: int):
    if workers == 0:
        return contextlib.nullcontext(None)
    from concurrent.futures import ProcessPoolExecutor

    return ProcessPoolExecutor(max_workers=workers)


# -------------------------------------------------------------------- sensing sweeps
def _crb_vs_snr(cfg, out, progress):
    snr = np.linspace(cfg["snr_min_db"], cfg["snr_max_db"], cfg["n_points"])
    with _executor(cfg["workers"] if cfg["n_trials"] > 0 else 0) as executor:
        sweep = crb_sweep(
            with_sensing_snr(_scenario(cfg), snr),
            snr,
            x_label="sensing SNR (dB)",
            deterministic_fraction=cfg["deterministic_fraction"],
            n_trials=cfg["n_trials"],
            rng=cfg["seed"],
            executor=executor,
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
def _front(cfg, signal: str, scheme: str, progress: bool, executor):
    method = cfg["superposition_method"] if signal == "superposition" else "auto"
    if cfg["n_draws"] == 1:
        return crb_rate_boundary(
            _scenario(cfg),
            signal=signal,
            scheme=scheme,
            n_points=cfg["n_points"],
            method=method,
            progress=progress,
        )
    kwargs = scenario_kwargs(cfg)
    seed = kwargs.pop("rng")
    return average_boundary(
        kwargs,
        n_draws=cfg["n_draws"],
        rng=seed,
        signal=signal,
        scheme=scheme,
        n_points=cfg["n_points"],
        method=method,
        executor=executor,
        progress=progress,
    )


def _fronts(cfg, pairs, progress: bool):
    """Boundaries for (signal, scheme) pairs."""
    # one worker pool for all boundaries; the same seed gives every boundary the same draws
    with _executor(cfg["workers"] if cfg["n_draws"] > 1 else 0) as executor:
        fronts = [_front(cfg, signal, scheme, progress, executor) for signal, scheme, _ in pairs]
    return fronts, [name for *_, name in pairs]


def _front_outputs(out: Output, name: str, fronts, keys, title: str) -> list[Path]:
    paths = [out.figure(name, lambda ax: plot_boundaries(fronts, ax), title)]
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


def _positive_int(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be an integer >= 1; got {value}")
    return value


def _positive_float(text: str) -> float:
    value = float(text)
    if not 0 < value < np.inf:
        raise argparse.ArgumentTypeError(f"must be a finite number > 0; got {value}")
    return value


def _parser() -> argparse.ArgumentParser:
    from .. import __version__

    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--config", metavar="FILE.toml", help="TOML file overriding defaults")
    common.add_argument("--out", metavar="DIR", default="out", help="output folder (out/)")
    common.add_argument("--format", choices=FORMATS, default="png", help="figure format (png)")
    common.add_argument(
        "--dpi", type=_positive_int, default=150, help="figure resolution, dots per inch (150)"
    )
    common.add_argument(
        "--figsize", type=_positive_float, nargs=2, metavar=("WIDTH", "HEIGHT"),
        default=(6.4, 4.8), help="figure size in inches (6.4 4.8: 960x720 pixels at 150 dpi)",
    )  # fmt: skip
    common.add_argument("--quiet", action="store_true", help="no progress bars")
    keys = common.add_argument_group(
        "config keys", "each overrides the key of the same name in the TOML file"
    )
    for name, opt in OPTIONS.items():
        metavar = opt.type.__name__.upper()
        keys.add_argument(
            flag(name), dest=f"key_{name}", type=opt.type, default=None, metavar=metavar,
            help=f"{opt.help} (default {opt.default!r})",
        )  # fmt: skip
    parser = argparse.ArgumentParser(
        prog="beamopt", description="Bistatic ISAC CRB figures and CRB-rate boundaries."
    )
    parser.add_argument("--version", action="version", version=f"beamopt {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="SUBCOMMAND")
    for name, (_, help_) in SUBCOMMANDS.items():
        sub.add_parser(name, parents=[common], help=help_, description=help_)
    return parser


def _check_out(out: Path) -> str | None:
    """Why `--out` cannot be the output folder (None when it can).

    Checked before anything is computed: the folder is created and a probe file written
    and removed in it, so a read-only or missing mount fails in milliseconds, not after the
    computation.
    """
    for p in (out, *out.parents):
        if p.exists():
            if p.is_dir():
                break
            if p == out:
                return f"--out {str(out)!r} is an existing file; give a folder (created if missing)"
            return f"--out {str(out)!r} lies under {str(p)!r}, an existing file, not a folder"
    try:
        out.mkdir(parents=True, exist_ok=True)
        fd, probe = tempfile.mkstemp(prefix=".beamopt-probe-", dir=out)
        os.close(fd)
        os.unlink(probe)
    except OSError as exc:
        return f"--out {str(out)!r} is not writable: {exc.strerror or exc}"
    return None


def main(argv=None) -> int:
    """Run the command line; returns the exit status.

    0: success; 1: the requested computation is not available in this installation
    (infeasible targets or a failed solve); 2: invalid command line, config, flag or
    `--out` (argparse exits with 2 itself), or an output file that cannot be written.

    Parameters
    ----------
    argv : list of str, optional
        Arguments without the program name; `sys.argv[1:]` when None.
    """
    args = _parser().parse_args(argv)
    overrides = {
        name: getattr(args, f"key_{name}")
        for name in OPTIONS
        if getattr(args, f"key_{name}") is not None
    }
    try:
        cfg = load_config(args.config, overrides)
    except ConfigError as exc:
        print(f"beamopt: error: {exc}", file=sys.stderr)
        return 2
    problem = _check_out(Path(args.out))
    if problem is not None:
        print(f"beamopt: error: {problem}", file=sys.stderr)
        return 2
    out = Output(Path(args.out), args.format, args.dpi, tuple(args.figsize))
    start = time.perf_counter()
    handler = SUBCOMMANDS[args.command][0]
    try:
        paths = handler(cfg, out, not args.quiet)
    except (InfeasibleError, SolverError) as exc:  # the scenario, not the program, is at fault
        print(f"beamopt: error: {exc}", file=sys.stderr)
        return 1
    except OSError as exc:  # e.g. a full disk: one line, not a traceback
        where = f" {exc.filename!r}" if exc.filename else ""
        print(f"beamopt: error: cannot write{where}: {exc.strerror or exc}", file=sys.stderr)
        return 2
    for path in paths:
        print(f"wrote {path}")
    print(f"{args.command}: done in {time.perf_counter() - start:.1f} s")
    return 0
