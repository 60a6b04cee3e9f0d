r"""Learned BCRB over repeated data sets and training seeds: bias, seed spread and coverage.

Two prior-dominated cases with an exact reference:

* ``nearfield``: the near-field ULA of "Scoring ISAC" (N = 64, 28 GHz, aperture 0.5 m,
  K = 4, sigma^2 = -60 dBm, gamma = 1), transmit power ``--power-dbm`` (default -10 dBm), the
  beam on the dominant singular vector of H_s at (20 m, 20 m), prior r ~ N((20, 20), 5 I).
  Reference: the exact prior FIM I/5 plus the data FIM averaged over 200 000 prior draws.
* ``gmm``: a two-component Gaussian-mixture prior in 2-D observed through
  y = A theta + N(0, s2 I) with the data information a third of the prior's. Reference:
  the exact mixture score's FIM over 10^6 draws (its own Monte Carlo error is ~0.1 %).

Each repeat draws a fresh training set of ``--n-train`` samples, trains a ``--seeds``-member
ensemble (members hold out disjoint folds) and records, for each FIM estimator
(plugin = eq. (61), divergence, debiased), the cross-fitted ensemble BCRB with its reported
standard error, and each member's own BCRB on all the samples. The summary gives the mean
bias of the ensemble, the share of members within 5 %, and the coverage of the reported 95 %
interval. Results are appended one JSON line per repeat (atomically rewritten), so an
interrupted run resumes where it stopped.

    python benchmarks/bench_learned_bcrb.py --case nearfield --repeats 20 --improvement-z 3 \
        --tag _z3 --out out/
    python benchmarks/bench_learned_bcrb.py --case gmm --repeats 6 --improvement-z 3 \
        --tag _z3 --out out/
    python benchmarks/bench_learned_bcrb.py --quick        # seconds: a smoke run

(the docs' table: 20 near-field and 6 mixture repeats of the two commands, `DEFAULT_CONFIG`
with the paired selection rule `improvement_z = 3`, about 80 s of training a repeat on one
core; `--lr` and `--tag` try another setting; an interrupted run resumes from the same
file.)

BLAS and torch run single-threaded unless the thread variables are set.
"""

from __future__ import annotations

import argparse
import json
import os
import time
from dataclasses import replace
from pathlib import Path

for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import numpy as np  # noqa: E402

from beamopt._io import write_atomic  # noqa: E402
from beamopt.metrics.fim import (  # noqa: E402
    FIM_METHODS,
    bayesian_fim,
    bcrb,
    expected_fim,
    gaussian_fim,
    score_fim,
)
from beamopt.metrics.nearfield import NearFieldArray  # noqa: E402
from beamopt.metrics.score_matching import DEFAULT_CONFIG, train_parameter_score  # noqa: E402
from beamopt.units import dbm_to_watt  # noqa: E402

Z95 = 1.959963984540054

# the two-component mixture prior of the `gmm` case and its linear-Gaussian observation
GMM_W = np.array([0.5, 0.5])
GMM_MEANS = np.array([[-1.5, 0.0], [1.5, 0.5]])
GMM_COVS = np.array([[[0.5, 0.2], [0.2, 0.4]], [[0.3, -0.1], [-0.1, 0.6]]])
GMM_A = np.array([[1.0, 0.3], [0.2, 0.6]])


def gmm_sample(n, rng):
    k = rng.choice(2, n, p=GMM_W)
    L = np.linalg.cholesky(GMM_COVS)
    return GMM_MEANS[k] + np.einsum("nij,nj->ni", L[k], rng.standard_normal((n, 2)))


def gmm_score(x):
    """Exact score of the mixture (the independent reference)."""
    inv = np.linalg.inv(GMM_COVS)
    d = x[:, None, :] - GMM_MEANS[None]
    q = np.einsum("nki,kij,nkj->nk", d, inv, d)
    logw = np.log(GMM_W) - 0.5 * np.log(np.linalg.det(GMM_COVS)) - 0.5 * q
    r = np.exp(logw - logw.max(axis=1, keepdims=True))
    r /= r.sum(axis=1, keepdims=True)
    return np.einsum("nk,nki->ni", r, -np.einsum("kij,nkj->nki", inv, d))


class NearField:
    name = "nearfield"

    def __init__(self, power_dbm):
        self.arr = NearFieldArray()
        self.mu, self.var, self.K = np.array([20.0, 20.0]), 5.0, 4
        self.s2 = dbm_to_watt(-60.0)
        self.x = self.arr.beam(self.mu, dbm_to_watt(power_dbm))
        ref = self.sample(200_000, np.random.default_rng(123))
        Jd = expected_fim(self.data_fims(ref)).matrix
        self.reference = float(np.trace(np.linalg.inv(np.eye(2) / self.var + Jd)))

    def sample(self, n, rng):
        return self.mu + np.sqrt(self.var) * rng.standard_normal((n, 2))

    def data_fims(self, theta):
        return gaussian_fim(self.arr.echo_jacobian(theta, self.x), self.s2, self.K)


class Mixture:
    name = "gmm"

    def __init__(self, *_):
        ref = gmm_sample(1_000_000, np.random.default_rng(123))
        s = gmm_score(ref)
        Jp = s.T @ s / len(s)
        # data information a third of the prior's (prior-dominated)
        self.noise_var = 3.0 * np.trace(GMM_A.T @ GMM_A) / np.trace(Jp)
        self.Jd = GMM_A.T @ GMM_A / self.noise_var
        self.reference = float(np.trace(np.linalg.inv(Jp + self.Jd)))

    def sample(self, n, rng):
        return gmm_sample(n, rng)

    def data_fims(self, theta):
        return np.repeat(self.Jd[None], len(theta), axis=0)


def one_repeat(case, rep, args, config):
    rng = np.random.default_rng([args.seed, rep])
    theta = case.sample(args.n_train, rng)
    t0 = time.perf_counter()
    ens = train_parameter_score(
        theta, objective="ism", config=config, seed=1000 * rep, n_seeds=args.seeds
    )
    train_s = time.perf_counter() - t0
    Jd = expected_fim(case.data_fims(theta))
    row = {
        "case": case.name,
        "repeat": rep,
        "reference": case.reference,
        "train_s": train_s,
        "best_iterations": [h.best_iteration for h in ens.histories],
    }
    for method in FIM_METHODS:
        b = bcrb(bayesian_fim(score_fim(ens, theta, method=method), Jd))
        shared = bcrb(bayesian_fim(score_fim(ens, theta, method=method, cross_fit=False), Jd))
        lo, hi = b.interval(0.95)
        row[method] = {
            "trace": b.trace,
            "stderr": b.trace_stderr,
            "interval": [lo, hi],
            "mc_stderr": b.trace_mc_stderr,
            "seed_std": b.trace_seed_std,
            "members_all_rows": [float(v) for v in shared.member_traces],
            "trace_all_rows": shared.trace,
            "stderr_all_rows": shared.trace_stderr,
        }
    return row


def _covers(entry, reference):
    lo, hi = entry.get("interval") or (
        entry["trace"] - Z95 * entry["stderr"],
        entry["trace"] + Z95 * entry["stderr"],
    )
    return bool(lo <= reference <= hi)


def summarise(rows, reference):
    out = {}
    for method in FIM_METHODS:
        rel = np.array([r[method]["trace"] / reference - 1 for r in rows])
        cover = np.array([_covers(r[method], reference) for r in rows])
        members = np.array([m / reference - 1 for r in rows for m in r[method]["members_all_rows"]])
        per_rep = [
            np.mean(np.abs(np.array(r[method]["members_all_rows"]) / reference - 1) <= 0.05)
            for r in rows
        ]
        rel_all = np.array([r[method]["trace_all_rows"] / reference - 1 for r in rows])
        cover_all = np.array(
            [
                abs(r[method]["trace_all_rows"] - reference) <= Z95 * r[method]["stderr_all_rows"]
                for r in rows
            ]
        )
        out[method] = {
            "ensemble_bias": float(rel.mean()),
            "ensemble_bias_se": float(rel.std(ddof=1) / np.sqrt(rel.size))
            if rel.size > 1
            else np.nan,
            "ensemble_rel_std": float(rel.std(ddof=1)) if rel.size > 1 else np.nan,
            "mean_reported_rel_se": float(np.mean([r[method]["stderr"] for r in rows]) / reference),
            "coverage_95": float(cover.mean()),
            "member_within_5pct": float(np.mean(np.abs(members) <= 0.05)),
            "repeats_with_4_of_5_within_5pct": float(np.mean(np.array(per_rep) >= 0.8)),
            "member_bias": float(members.mean()),
            "member_rel_std": float(members.std(ddof=1)) if members.size > 1 else np.nan,
            "all_rows_bias": float(rel_all.mean()),
            "all_rows_coverage_95": float(cover_all.mean()),
        }
    return out


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--case", choices=("nearfield", "gmm"), default="nearfield")
    ap.add_argument("--repeats", type=int, default=20)
    ap.add_argument("--seeds", type=int, default=5)
    ap.add_argument("--n-train", type=int, default=4000)
    ap.add_argument("--power-dbm", type=float, default=-10.0)
    ap.add_argument("--n-iterations", type=int, default=None)
    ap.add_argument("--lr", type=float, default=None)
    ap.add_argument("--improvement-z", type=float, default=None, help="ScoreConfig.improvement_z")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--out", default="out")
    ap.add_argument("--tag", default="", help="suffix of the results file (another setting)")
    ap.add_argument("--quick", action="store_true")
    args = ap.parse_args(argv)
    config = DEFAULT_CONFIG
    if args.quick:
        args.repeats, args.seeds, args.n_train = 2, 2, 400
        config = replace(config, n_iterations=60, eval_every=20)
    if args.n_iterations is not None:
        config = replace(config, n_iterations=args.n_iterations)
    if args.lr is not None:
        config = replace(config, lr=args.lr)
    if args.improvement_z is not None:
        config = replace(config, improvement_z=args.improvement_z)
    case = NearField(args.power_dbm) if args.case == "nearfield" else Mixture()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    path = out / f"bench_learned_bcrb_{case.name}{args.tag}.jsonl"
    rows = []
    if path.exists():
        rows = [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
    done = {r["repeat"] for r in rows}
    for rep in range(args.repeats):
        if rep in done:
            continue
        rows.append(one_repeat(case, rep, args, config))
        write_atomic(path, "".join(json.dumps(r) + "\n" for r in rows))
        r = rows[-1]
        print(
            f"repeat {rep}: "
            + ", ".join(
                f"{m} {r[m]['trace'] / case.reference - 1:+.3f} "
                f"± {r[m]['stderr'] / case.reference:.3f}"
                for m in FIM_METHODS
            )
            + f" (train {r['train_s']:.0f} s)",
            flush=True,
        )
    rows = [r for r in rows if r["repeat"] < args.repeats]
    summary = summarise(rows, case.reference)
    write_atomic(
        out / f"bench_learned_bcrb_{case.name}{args.tag}_summary.json",
        json.dumps(
            {
                "reference": case.reference,
                "repeats": len(rows),
                "seeds": args.seeds,
                "n_train": args.n_train,
                "summary": summary,
            },
            indent=2,
        ),
    )
    print(
        f"{case.name}: reference tr BCRB = {case.reference:.5g}, {len(rows)} repeats x "
        f"{args.seeds} seeds, {args.n_train} training samples"
    )
    for method, s in summary.items():
        print(
            f"  {method:10s} ensemble bias {s['ensemble_bias']:+.3%} ± {s['ensemble_bias_se']:.2%}"
            f" (spread {s['ensemble_rel_std']:.2%}, reported se {s['mean_reported_rel_se']:.2%}),"
            f" 95% coverage {s['coverage_95']:.0%}; members within 5%: "
            f"{s['member_within_5pct']:.0%} (bias {s['member_bias']:+.2%}, spread "
            f"{s['member_rel_std']:.2%}), repeats with >= 4/5 within 5%: "
            f"{s['repeats_with_4_of_5_within_5pct']:.0%}"
        )
    return summary


if __name__ == "__main__":
    main()
