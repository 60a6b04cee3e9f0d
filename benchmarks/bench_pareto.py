"""Superposition CRB-SINR boundary: certified global search vs SCA, in one run.

Usage::

    python benchmarks/bench_pareto.py [--n-points 100] [--repeats 5] [--seed 0] [--full-space]
        [--solver CLARABEL]

Pins BLAS to one thread so the numbers are per core. On the reference scenario
with a CU channel drawn from ``--seed`` it solves the superposition design for
``--n-points`` SINR targets evenly spaced from 0 to the largest achievable SINR:

* with :func:`beamopt.superposition_design` (all targets in one vectorised
  call; best of ``--repeats``), target < 1 s for 100 points on one core;
* with :func:`beamopt.sca_superposition` (the seed's SCA, one target at a time,
  default start and tolerance; SDPs in span{a, h}, or in all ``n_tx``
  dimensions with ``--full-space``, as in the seed; solved by the dedicated
  interior-point method, or by cvxpy with ``--solver``);

and prints both times, their ratio (target >= 100x) and the check that the
global CRB is the same as or better than SCA's at every point, together with
the largest certified bound gap.
"""

from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import argparse  # noqa: E402
import time  # noqa: E402

import numpy as np  # noqa: E402

import beamopt  # noqa: E402


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n-points", type=int, default=100)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--seed", type=int, default=0, help="CU fading draw of the scenario")
    parser.add_argument("--rtol", type=float, default=1e-10, help="global certificate tolerance")
    parser.add_argument("--full-space", action="store_true", help="SCA SDPs in all n_tx dims")
    parser.add_argument("--solver", default=None, help="cvxpy solver for SCA (default: native)")
    args = parser.parse_args(argv)

    sc = beamopt.BistaticScenario.default(rng=args.seed)
    gamma = np.linspace(0.0, float(sc.max_snr[0]), args.n_points)

    beamopt.superposition_design(sc, gamma[:2])  # warm-up (first-call overheads)
    t_glob = np.inf
    for _ in range(args.repeats):
        t0 = time.perf_counter()
        glob = beamopt.superposition_design(sc, gamma, rtol=args.rtol)
        t_glob = min(t_glob, time.perf_counter() - t0)

    kw = {"reduce": not args.full_space, "solver": args.solver}
    beamopt.sca_superposition(sc, gamma[1], max_iterations=1, **kw)  # warm-up (imports)
    t0 = time.perf_counter()
    sca = [beamopt.sca_superposition(sc, g, **kw) for g in gamma]
    t_sca = time.perf_counter() - t0

    crb_sca = np.array([r.crb for r in sca])
    rel = glob.crb / crb_sca - 1.0  # <= 0: global is at least as good
    sinr_ok = np.all(glob.sinr >= gamma * (1 - 1e-9))
    space = "all n_tx dimensions" if args.full_space else "span{a, h}"
    snr_db = 10 * np.log10([sc.sensing_snr, sc.max_snr[0]])
    print(f"scenario: n_tx={sc.n_tx}, n_rx={sc.n_rx}, sensing SNR {snr_db[0]:.1f} dB, "
          f"max SINR {snr_db[1]:.1f} dB; {args.n_points} targets")  # fmt: skip
    print(f"global search : {t_glob * 1e3:8.2f} ms for {args.n_points} points "
          f"({t_glob / args.n_points * 1e6:.0f} us/point), max bound gap "
          f"{glob.bound_gap.max():.1e} (rtol {args.rtol:g}), "
          f"{glob.evaluations.sum()} closed-form evaluations")  # fmt: skip
    print(f"SCA ({args.solver or 'native'}) : {t_sca:8.2f} s  for {args.n_points} points "
          f"({t_sca / args.n_points * 1e3:.1f} ms/point, SDPs in {space}, "
          f"{sum(r.iterations for r in sca)} SDP solves)")  # fmt: skip
    ratio = t_sca / t_glob
    print(f"speed-up      : {ratio:.0f}x  [target >= 100x: {'PASS' if ratio >= 100 else 'FAIL'}]")
    print(f"under 1 s     : {'PASS' if t_glob < 1.0 else 'FAIL'}")
    worse = int(np.sum(rel > 1e-9))
    print(f"global CRB <= SCA CRB (rel 1e-9) at every point: {'PASS' if worse == 0 else 'FAIL'} "
          f"(max global/SCA - 1 = {rel.max():.1e}; SCA worse than global by > 1e-3 at "
          f"{int(np.sum(rel < -1e-3))} points, largest SCA excess {(-rel).max():.2e})")  # fmt: skip
    print(f"global SINR >= target at every point: {'PASS' if sinr_ok else 'FAIL'}")


if __name__ == "__main__":
    main()
