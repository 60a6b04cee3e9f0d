"""Large arrays and BLAS threads: superposition boundaries and the crb-vs-snr sweep, in one run.

Usage::

    python benchmarks/bench_boundary_scale.py [--n-tx 256 1024] [--n-points 100]
        [--repeats 3] [--rounds 2] [--sweep-points 50] [--n-trials 100]
        [--sca-n-tx 64] [--sca-users 3] [--out DIR]

Each case runs in fresh child processes, alternately with the default BLAS threads (the
``OMP/OPENBLAS/MKL_NUM_THREADS`` variables removed) and with one thread, ``--rounds``
times each, so both settings are measured on the same machine in the same run and
reported as a ratio (default / one thread).

Cases:

* ``boundary``: :func:`beamopt.crb_rate_boundary` with ``signal="superposition"`` and
  ``--n-points`` rate targets on ``BistaticScenario.from_geometry(n_tx=...)``, for each
  ``--n-tx``. Targets: < 1 s and < 300 MB peak at ``n_tx = 1024``; < 0.3 s at
  ``n_tx = 256``.
* ``crb_sweep``: :func:`beamopt.crb_sweep` exactly as ``beamopt crb-vs-snr`` calls it with
  its default config (``--sweep-points`` SNRs, ``--n-trials`` Monte Carlo trials).
* ``sca``: :func:`beamopt.minimize_crb` with ``signal="superposition"`` (multi-start SCA
  with its certified bound) for ``--sca-users`` users at ``--sca-n-tx`` elements, each
  user at 30 % of its largest SNR split evenly (``--sca-n-tx 0`` skips the case).

For every case and setting: the best wall time of ``--repeats`` calls (after a warm-up
call on a tiny problem) over the rounds, and the largest peak memory traced by
:mod:`tracemalloc` during one more call (numpy reports its buffers to it). Target for
every case: default threads within 1.5x of one
thread. Each line ends in PASS or FAIL; ``--out DIR`` also writes
``DIR/bench_boundary_scale.csv``.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import subprocess
import sys
import time
import tracemalloc
from pathlib import Path

_THREAD_VARS = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")
#: Time and memory targets per case (seconds, MB); None where the issue sets none.
_TARGETS = {256: (0.3, None), 1024: (1.0, 300.0)}
_MAX_THREAD_RATIO = 1.5


# ----------------------------------------------------------------------------- child side
def _boundary_call(n_tx: int, n_points: int):
    import beamopt

    sc = beamopt.BistaticScenario.from_geometry(n_tx=n_tx)
    return sc.n_tx, lambda: beamopt.crb_rate_boundary(sc, signal="superposition", n_points=n_points)


def _sweep_call(n_points: int, n_trials: int):
    """crb_sweep with the arguments ``beamopt crb-vs-snr`` passes for its default config."""
    import numpy as np

    import beamopt
    from beamopt.cli.config import DEFAULTS, scenario_kwargs

    cfg = dict(DEFAULTS, n_points=n_points, n_trials=n_trials)
    snr = np.linspace(cfg["snr_min_db"], cfg["snr_max_db"], cfg["n_points"])
    scenarios = beamopt.with_sensing_snr(
        beamopt.BistaticScenario.from_geometry(**scenario_kwargs(cfg)), snr
    )
    return scenarios[0].n_tx, lambda: beamopt.crb_sweep(
        scenarios,
        snr,
        x_label="sensing SNR (dB)",
        deterministic_fraction=cfg["deterministic_fraction"],
        n_trials=cfg["n_trials"],
        rng=cfg["seed"],
    )


def _sca_call(n_tx: int, n_users: int):
    import numpy as np

    import beamopt

    sc = beamopt.BistaticScenario.from_geometry(
        n_tx=n_tx,
        user_angle_deg=list(np.linspace(-40.0, 60.0, n_users)),
        d_bs_user=[80.0] * n_users,
    )
    snr = 0.3 * sc.max_snr / n_users
    return sc.n_tx, lambda: beamopt.minimize_crb(sc, snr, signal="superposition")


def _measure(call, warm_up, repeats: int) -> dict:
    warm_up()  # imports, caches and first-call overheads, on a tiny problem
    best = float("inf")
    for _ in range(repeats):
        t0 = time.perf_counter()
        call()
        best = min(best, time.perf_counter() - t0)
    tracemalloc.start()
    call()
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return {"time_s": best, "peak_mb": peak / 2**20}


def _child(spec: dict) -> None:
    if spec["case"] == "boundary":
        n_tx, call = _boundary_call(spec["n_tx"], spec["n_points"])
        warm_up = _boundary_call(16, 2)[1]
    elif spec["case"] == "sca":
        n_tx, call = _sca_call(spec["n_tx"], spec["n_users"])
        warm_up = _sca_call(8, spec["n_users"])[1]
    else:
        n_tx, call = _sweep_call(spec["n_points"], spec["n_trials"])
        warm_up = _sweep_call(2, 2)[1]
    print(json.dumps({"n_tx": n_tx, **_measure(call, warm_up, spec["repeats"])}))


# ---------------------------------------------------------------------------- parent side
def _run(spec: dict, one_thread: bool) -> dict:
    env = {k: v for k, v in os.environ.items() if k not in _THREAD_VARS}
    if one_thread:
        env.update(dict.fromkeys(_THREAD_VARS, "1"))
    out = subprocess.run(
        [sys.executable, __file__, "--child", json.dumps(spec)],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def _run_interleaved(spec: dict, rounds: int) -> tuple[dict, dict]:
    """Alternate default and one-thread children; best time and largest peak per setting.

    Alternating spreads any change in machine load over both settings alike.
    """
    runs = {False: [], True: []}
    for _ in range(rounds):
        for one_thread in (False, True):
            runs[one_thread].append(_run(spec, one_thread))

    def best(rs):
        return {
            "n_tx": rs[0]["n_tx"],
            "time_s": min(r["time_s"] for r in rs),
            "peak_mb": max(r["peak_mb"] for r in rs),
        }

    return best(runs[False]), best(runs[True])


def _verdict(ok: bool) -> str:
    return "PASS" if ok else "FAIL"


def main(argv=None) -> list[dict]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n-tx", type=int, nargs="+", default=[256, 1024])
    parser.add_argument("--n-points", type=int, default=100, help="rate targets per boundary")
    parser.add_argument("--repeats", type=int, default=3, help="timed calls per child")
    parser.add_argument("--rounds", type=int, default=2, help="alternations of the two settings")
    parser.add_argument("--sweep-points", type=int, default=50, help="SNRs of the sweep")
    parser.add_argument("--n-trials", type=int, default=100, help="Monte Carlo trials per SNR")
    parser.add_argument("--sca-n-tx", type=int, default=64, help="array of the SCA case (0: skip)")
    parser.add_argument("--sca-users", type=int, default=3, help="users of the SCA case")
    parser.add_argument("--out", type=Path, default=None, help="folder for the CSV")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        _child(json.loads(args.child))
        return []

    specs = [
        {"case": "boundary", "n_tx": n, "n_points": args.n_points, "repeats": args.repeats}
        for n in args.n_tx
    ]
    specs.append(
        {
            "case": "crb_sweep",
            "n_tx": None,
            "n_points": args.sweep_points,
            "n_trials": args.n_trials,
            "repeats": args.repeats,
        }
    )
    if args.sca_n_tx > 0:
        specs.append(
            {
                "case": "sca",
                "n_tx": args.sca_n_tx,
                "n_users": args.sca_users,
                "n_points": 1,
                "repeats": args.repeats,
            }
        )
    rows = []
    print(f"{'case':<10} {'n_tx':>5} {'points':>6} {'default s':>10} {'1-thread s':>10} "
          f"{'ratio':>6} {'peak MB':>8}  verdict")  # fmt: skip
    for spec in specs:
        default, one = _run_interleaved(spec, args.rounds)
        ratio = default["time_s"] / one["time_s"]
        t_max, mb_max = _TARGETS.get(spec["n_tx"], (None, None))
        peak = max(default["peak_mb"], one["peak_mb"])
        checks = [f"threads {ratio:.2f}x <= {_MAX_THREAD_RATIO}x: {_verdict(ratio <= 1.5)}"]
        if t_max is not None:
            slow = max(default["time_s"], one["time_s"])
            checks.append(f"time < {t_max} s: {_verdict(slow < t_max)}")
        if mb_max is not None:
            checks.append(f"peak < {mb_max:.0f} MB: {_verdict(peak < mb_max)}")
        n_tx = default["n_tx"]
        print(f"{spec['case']:<10} {n_tx:>5} {spec['n_points']:>6} {default['time_s']:>10.4f} "
              f"{one['time_s']:>10.4f} {ratio:>6.2f} {peak:>8.1f}  "
              + "; ".join(checks))  # fmt: skip
        rows.append(
            {
                "case": spec["case"],
                "n_tx": n_tx,
                "n_points": spec["n_points"],
                "time_default_s": default["time_s"],
                "time_one_thread_s": one["time_s"],
                "ratio_default_over_one": ratio,
                "peak_mb_default": default["peak_mb"],
                "peak_mb_one_thread": one["peak_mb"],
            }
        )
    if args.out is not None:
        args.out.mkdir(parents=True, exist_ok=True)
        path = args.out / "bench_boundary_scale.csv"
        with path.open("w", newline="", encoding="utf-8") as fh:
            writer = csv.DictWriter(fh, fieldnames=list(rows[0]))
            writer.writeheader()
            writer.writerows(rows)
        print(f"wrote {path}")
    return rows


if __name__ == "__main__":
    main()
