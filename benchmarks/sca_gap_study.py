"""How far does SCA end from the certified global optimum of the superposition design?

Usage::

    python benchmarks/sca_gap_study.py [--n-scenarios 200] [--n-starts 4] [--seed 0] [--out out/]
        [--compare] [--n-multi 3]

``--compare`` adds, on the same scenarios, the old default (the Gaussian-only start
alone) against the new defaults (several starts plus the certified bound), the three
hard cases of the issue "SCA that does not stall", and multi-user scenarios
(K = 2..8 users, n_tx up to 64) with the gap of SCA to its certified bound and the time
per design. The scenario stream is the same with or without it.

Draws random single-user scenarios (array sizes, angles, distances, Rician
factor, transmit power, SINR target), solves each with the certified global
search (:func:`beamopt.superposition_design`) and with SCA
(:func:`beamopt.sca_superposition`) from its default start (the optimal
Gaussian-only design) and from ``--n-starts`` random feasible starts. The gap is
``crb_sca / crb_global - 1`` (>= 0 up to solver round-off). Writes
``sca_gap.csv`` (one row per run) and ``sca_gap.png`` (histogram) to ``--out``
and prints the distribution summarised in ``docs/theory/superposition.md``.
"""

from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import argparse  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402

import beamopt  # noqa: E402
from beamopt._io import write_csv_rows  # noqa: E402

THRESHOLDS = (1e-6, 1e-4, 1e-3, 1e-2, 1e-1)


def random_scenario(rng):
    """One random single-user scenario and a target fraction ``beta = gamma / gamma_max``."""
    sc = beamopt.BistaticScenario.from_geometry(
        n_tx=int(rng.choice([4, 8, 16])),
        n_rx=int(rng.choice([4, 8, 16])),
        dod_deg=rng.uniform(-60, 60),
        doa_deg=rng.uniform(-60, 60),
        user_angle_deg=rng.uniform(-60, 60),
        d_bs_target=rng.uniform(10, 60),
        d_target_rx=rng.uniform(10, 60),
        d_bs_user=rng.uniform(20, 150),
        k_factor=10 ** rng.uniform(-1, 1.5),
        power_dbm=rng.uniform(10, 40),
        rng=int(rng.integers(2**31)),
    )
    return sc, rng.uniform(0.001, 0.999)


def random_start(sc, gamma, rng):
    """A random feasible (W, Rs): random rank-one beams in span{a, h, z}, power split p,
    blended with the all-power-to-the-user design until the SINR target holds."""

    def beam():
        c = rng.standard_normal(3) + 1j * rng.standard_normal(3)
        z = rng.standard_normal(sc.n_tx) + 1j * rng.standard_normal(sc.n_tx)
        v = c[0] * sc.a / np.sqrt(sc.n_tx) + c[1] * u + 0.3 * c[2] * z / np.linalg.norm(z)
        return v / np.linalg.norm(v)

    u = sc.channel / np.linalg.norm(sc.channel)
    p = rng.uniform()
    w, r = beam(), beam()
    W = sc.power * p * np.outer(w, w.conj())
    Rs = sc.power * (1 - p) * np.outer(r, r.conj())

    def slack(W, Rs):  # h^H W h - gamma (h^H Rs h + s2c), linear in (W, Rs)
        h = sc.channel
        return np.vdot(h, W @ h).real - gamma * (np.vdot(h, Rs @ h).real + sc.comm_noise_power)

    W_u = sc.power * np.outer(u, u.conj())
    g0, g1 = slack(W, Rs), slack(W_u, 0 * Rs)
    lam = 0.0 if g0 >= 0 else min(1.0, -g0 / (g1 - g0) * (1 + 1e-9))
    return (1 - lam) * W + lam * W_u, (1 - lam) * Rs


#: The old default: SCA from the optimal Gaussian-only design alone, no certificate.
OLD_DEFAULT = {"starts": ("gaussian",), "n_starts": 0, "certify_gap": False}
#: Single-start runs (from an explicit initial point) as in the original study.
ONE_START = {"starts": (), "n_starts": 0, "certify_gap": False}
#: The issue's hard cases (n_tx x n_rx, sensing SNR, SINR target): the seed scripts'
#: scenarios are not public, so these are from_geometry scenarios with the same
#: arrays, sensing SNR (set by the reflection) and target whose old-default SCA gap is
#: closest to the reported one among 150 random geometries (+16.9 %, +5.9 %, +5.3 %).
HARD_CASES = {
    "8x8, 3.9 dB, 38.5 dB": ({"n_tx": 8, "n_rx": 8, "dod_deg": -40.7, "doa_deg": 56.4,
        "user_angle_deg": 1.9, "d_bs_user": 29.3, "k_factor": 3.62, "rng": 276,
        "reflection": 1.5101}, 38.5),
    "16x8, 10.8 dB, 27.1 dB": ({"n_tx": 16, "n_rx": 8, "dod_deg": -5.2, "doa_deg": 47.0,
        "user_angle_deg": -9.7, "d_bs_user": 41.2, "k_factor": 0.11, "rng": 376,
        "reflection": 2.3632}, 27.1),
    "16x16, 8.7 dB, 19.5 dB": ({"n_tx": 16, "n_rx": 16, "dod_deg": 36.8, "doa_deg": -31.8,
        "user_angle_deg": 41.9, "d_bs_user": 76.9, "k_factor": 0.32, "rng": 436,
        "reflection": 1.3121}, 19.5),
}  # fmt: skip


def run(args):
    rng = np.random.default_rng(args.seed)
    rows = []
    t_sca = t_glob = 0.0
    for i in range(args.n_scenarios):
        sc, beta = random_scenario(rng)
        gamma = beta * float(sc.max_snr[0])
        t0 = time.perf_counter()
        glob = beamopt.superposition_design(sc, gamma)
        t_glob += time.perf_counter() - t0
        starts = [("default", None, OLD_DEFAULT)]
        starts += [(f"random{j}", random_start(sc, gamma, rng), ONE_START)
                   for j in range(args.n_starts)]  # fmt: skip
        if args.compare:
            starts.append(("new", None, {}))
        for name, x0, opts in starts:
            t0 = time.perf_counter()
            res = beamopt.sca_superposition(
                sc,
                gamma,
                initial_point=x0,
                tolerance=args.tolerance,
                reduce=not args.full_space,
                **opts,
            )
            t_sca += time.perf_counter() - t0
            rows.append(
                {
                    "scenario": i,
                    "start": name,
                    "n_tx": sc.n_tx,
                    "n_rx": sc.n_rx,
                    "sensing_snr_db": 10 * np.log10(sc.sensing_snr),
                    "beta": beta,
                    "crb_global": float(glob.crb),
                    "bound_gap": float(glob.bound_gap),
                    "crb_sca": res.crb,
                    "gap": res.crb / float(glob.crb) - 1.0,
                    "iterations": res.iterations,
                    "status": res.status,
                    "sinr_ratio": float(res.sinr) / gamma,
                    "sca_bound_gap": res.extras.get("bound_gap", np.nan),
                    "starts_only_gap": float(
                        np.min(
                            [
                                c
                                for n, c in zip(res.extras["starts"], res.extras["start_crbs"])
                                if n != "bound"
                            ]
                        )
                    )
                    / float(glob.crb)
                    - 1.0,
                    "time": time.perf_counter() - t0,
                }
            )
    return rows, t_glob, t_sca


def summarise(rows):
    gap = np.array([r["gap"] for r in rows if r["start"] != "new"])
    default = np.array([r["gap"] for r in rows if r["start"] == "default"])
    per_scenario = {}
    for r in (r for r in rows if r["start"] != "new"):
        per_scenario.setdefault(r["scenario"], []).append(r["gap"])
    worst = np.array([max(g) for g in per_scenario.values()])
    best = np.array([min(g) for g in per_scenario.values()])
    lines = []
    groups = (("default start", default), ("all starts", gap), ("worst start", worst),
              ("best start", best))  # fmt: skip
    new = [r for r in rows if r["start"] == "new"]
    if new:
        groups += (("new defaults", np.array([r["gap"] for r in new])),
                   ("new, starts only", np.array([r["starts_only_gap"] for r in new])))  # fmt: skip
    for name, g in groups:
        q = np.quantile(g, [0.5, 0.9, 0.99, 1.0])
        frac = ", ".join(f">{t:g}: {np.mean(g > t):.3f}" for t in THRESHOLDS)
        lines.append(
            f"{name:16s} n={g.size:4d}  median {q[0]:.2e}  p90 {q[1]:.2e}  p99 {q[2]:.2e}  "
            f"max {q[3]:.2e}  min {g.min():.2e} | fraction {frac}"
        )
    if new:
        t_old = np.median([r["time"] for r in rows if r["start"] == "default"])
        t_new = np.median([r["time"] for r in new])
        cert = np.array([r["sca_bound_gap"] for r in new])
        lines.append(
            f"new defaults: median time per design {t_new * 1e3:.0f} ms vs {t_old * 1e3:.0f} ms "
            f"(old default, ratio {t_new / t_old:.1f}); certified gap median "
            f"{np.median(cert):.1e}, "
            f"max {cert.max():.1e}; within 1e-3 of the optimum: "
            f"{np.mean(np.array([r['gap'] for r in new]) <= 1e-3):.1%}"
        )
    return "\n".join(lines)


def hard_cases():
    lines = [
        "hard cases (gap to the certified optimum): old default | new defaults | new bound_gap"
    ]
    for name, (geo, target_db) in HARD_CASES.items():
        sc = beamopt.BistaticScenario.from_geometry(**geo)
        gamma = 10 ** (target_db / 10)
        crb = float(beamopt.superposition_design(sc, gamma).crb)
        old = beamopt.sca_superposition(sc, gamma, **OLD_DEFAULT)
        new = beamopt.sca_superposition(sc, gamma)
        lines.append(
            f"  {name:24s} {old.crb / crb - 1:+.2e} | {new.crb / crb - 1:+.2e} | "
            f"{new.extras['bound_gap']:.1e} (best start {new.extras['best_start']})"
        )
    return "\n".join(lines)


def multi_user(n_per_config, seed):
    """Several users: the gap of the new SCA to its own certified bound, and time per design."""
    rng = np.random.default_rng(seed + 1)
    rows = []
    for K in (2, 3, 4, 6, 8):
        for n_tx in (16, 32, 64):
            for _ in range(n_per_config):
                sc = beamopt.BistaticScenario.from_geometry(
                    n_tx=n_tx, n_rx=int(rng.choice([8, 16])),
                    dod_deg=rng.uniform(-60, 60), doa_deg=rng.uniform(-60, 60),
                    user_angle_deg=rng.uniform(-60, 60, K), d_bs_user=rng.uniform(20, 150, K),
                    k_factor=10 ** rng.uniform(-1, 1.5), power_dbm=rng.uniform(20, 40),
                    rng=int(rng.integers(2**31)),
                )  # fmt: skip
                frac = rng.uniform(0.01, 0.5, K) / K
                for _ in range(8):
                    try:
                        t0 = time.perf_counter()
                        res = beamopt.sca_superposition(sc, frac * sc.max_snr)
                        break
                    except beamopt.InfeasibleError:
                        frac = frac / 2
                rows.append({"K": K, "n_tx": n_tx, "bound_gap": res.extras["bound_gap"],
                             "status": res.status, "time": time.perf_counter() - t0,
                             "bound_solves": res.extras["bound_solves"],
                             "sca_solves": res.iterations})  # fmt: skip
    lines = ["several users: gap of SCA to its certified bound (information), time per design"]
    lines.append("  K | n | median gap | worst gap | certified <= 1e-6 | median time | max time")
    for K in sorted({r["K"] for r in rows}):
        sel = [r for r in rows if r["K"] == K]
        g = np.array([r["bound_gap"] for r in sel])
        t = np.array([r["time"] for r in sel])
        lines.append(
            f"  {K} | {len(sel)} | {np.median(g):.1e} | {g.max():.1e} | "
            f"{np.mean(g <= 1e-6):.0%} | {np.median(t):.2f} s | {t.max():.2f} s"
        )
    g = np.array([r["bound_gap"] for r in rows])
    lines.append(
        f"  all | {g.size} | {np.median(g):.1e} | {g.max():.1e} | {np.mean(g <= 1e-6):.0%}"
    )
    return rows, "\n".join(lines)


def write(rows, out: Path):
    out.mkdir(parents=True, exist_ok=True)
    write_csv_rows(out / "sca_gap.csv", rows)
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6, 3.5))
    floor = 1e-12
    bins = np.logspace(-12, 1, 40)
    for name in ("default", "random", "new"):
        g = np.array([r["gap"] for r in rows if r["start"].startswith(name)])
        ax.hist(np.maximum(g, floor), bins=bins, alpha=0.6, label=f"{name} start (n={g.size})")
    ax.set_xscale("log")
    ax.set_xlabel("relative CRB gap of SCA to the global optimum (floored at 1e-12)")
    ax.set_ylabel("runs")
    ax.legend()
    fig.tight_layout()
    fig.savefig(out / "sca_gap.png", dpi=120)
    plt.close(fig)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n-scenarios", type=int, default=200)
    parser.add_argument("--n-starts", type=int, default=4, help="random starts per scenario")
    parser.add_argument("--tolerance", type=float, default=1e-8, help="SCA stopping tolerance")
    parser.add_argument("--full-space", action="store_true", help="SCA SDPs in all n_tx dims")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path, default=Path("out"))
    parser.add_argument(
        "--compare",
        action="store_true",
        help="old default vs new defaults, hard cases, several users",
    )
    parser.add_argument(
        "--n-multi", type=int, default=3, help="multi-user scenarios per (K, n_tx) with --compare"
    )
    args = parser.parse_args(argv)
    rows, t_glob, t_sca = run(args)
    write(rows, args.out)
    print(f"{args.n_scenarios} scenarios, {len(rows)} SCA runs (seed {args.seed})")
    print(f"time: global {t_glob:.2f} s in total, SCA {t_sca:.1f} s in total")
    print(summarise(rows))
    neg = min(r["gap"] for r in rows)
    print(f"SCA never beats the certified optimum by more than {max(-neg, 0):.1e} (relative)")
    print(f"wrote {args.out / 'sca_gap.csv'} and {args.out / 'sca_gap.png'}")
    if args.compare:
        print(hard_cases())
        multi_rows, text = multi_user(args.n_multi, args.seed)
        write_csv_rows(args.out / "sca_gap_multi_user.csv", multi_rows)
        print(text)


if __name__ == "__main__":
    main()
