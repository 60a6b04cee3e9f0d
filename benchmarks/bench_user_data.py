"""A conditional diffusion model trained with the default settings on a user's own channels.

The case: sparse 3-path ULA channels (`beamopt.channels.multipath_channels`: 8 subcarriers x
2 x 8 antennas), pilots on every second subcarrier at 10 dB SNR, 10 000 training drops (10 %
held out by the trainer), 512 fresh test drops. Per training seed it trains
`train_score_model(H, observations=Y)` with the default `ScoreConfig` and reports, beside the
sample-covariance LMMSE estimator fitted on the same training drops:

- the NMSE of the DM posterior mean (mean of `--n-samples` conditional draws) with its
  paired ratio to the LMMSE NMSE (95 % interval over test drops),
- the calibration ratio of the DM posterior (`posterior_calibration`, 1 = calibrated), with
  the default analytic reverse steps and with plain DDPM steps (`variance="ddpm"`),
- the held-out conditioning check and the training time (wall clock and CPU seconds).

``--warning-check`` also trains the under-trained 600-iteration model of the issue and
records whether it raises the `TrainingWarning` that it ignores its pilots.

    python benchmarks/bench_user_data.py --out out/bench_user_data            # 3 seeds
    python benchmarks/bench_user_data.py --seeds 0 --n-train 2000 --quick     # smoke run
    python benchmarks/bench_user_data.py --base gaussian --out out/bench_user_data_gauss

Results are written per seed (atomically) to ``<out>/seed_<k>.json``; a rerun skips the seeds
already there, so an interrupted run resumes. The summary is ``<out>/bench_user_data.csv``.
"""

from __future__ import annotations

import argparse
import json
import time
import warnings
from dataclasses import replace
from pathlib import Path

import numpy as np

import beamopt
from beamopt._io import write_atomic, write_csv_rows
from beamopt.channels import multipath_channels

PILOT_NOISE = 0.1  # 10 dB per pilot entry (unit-power channel entries)


def pairs(n: int, seed: int):
    """3-path channels and their pilots on every second subcarrier."""
    H = multipath_channels(n, rng=seed)
    rng = np.random.default_rng([seed, 1])
    clean = H[:, ::2]
    noise = rng.standard_normal(clean.shape) + 1j * rng.standard_normal(clean.shape)
    return H, clean + np.sqrt(PILOT_NOISE / 2) * noise


def paired_ratio(a: np.ndarray, b: np.ndarray):
    """sum(a) / sum(b) over paired drops and its delta-method 95 % interval."""
    r = a.sum() / b.sum()
    n = a.size
    cov = np.cov(np.stack([a, b]), ddof=1)
    var = r**2 * (cov[0, 0] / a.mean() ** 2 + cov[1, 1] / b.mean() ** 2
                  - 2 * cov[0, 1] / (a.mean() * b.mean())) / n  # fmt: skip
    half = 1.96 * np.sqrt(max(var, 0.0))
    return float(r), float(r - half), float(r + half)


def run_seed(seed: int, args) -> dict:
    H, Y = pairs(args.n_train, 1000 + seed)
    Ht, Yt = pairs(args.n_test, 99)
    config = beamopt.ScoreConfig(base=args.base)
    if args.iterations is not None:
        config = replace(config, n_iterations=args.iterations)
    t0, c0 = time.perf_counter(), time.process_time()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        model = beamopt.train_score_model(H, observations=Y, config=config, seed=seed,
                                          progress=False)  # fmt: skip
    wall, cpu = time.perf_counter() - t0, time.process_time() - c0
    lin = beamopt.fit_lmmse(H, Y)
    e_lin = np.sum(np.abs(lin.estimate(Yt) - Ht) ** 2, axis=(1, 2, 3))
    sampler = beamopt.ConditionalSampler(model, n_steps=args.steps)
    t1 = time.perf_counter()
    cal = beamopt.posterior_calibration(sampler, Ht, Yt, n_samples=args.n_samples, seed=seed)
    sample_s = time.perf_counter() - t1
    lin_cal = beamopt.posterior_calibration(lin, Ht, Yt, n_samples=args.n_samples, seed=seed)
    # the plain DDPM step (no posterior variance added), same draws otherwise
    plain = beamopt.ConditionalSampler(model, n_steps=args.steps, variance="ddpm")
    plain_cal = beamopt.posterior_calibration(plain, Ht, Yt, n_samples=args.n_samples, seed=seed)
    ratio = paired_ratio(cal.error, e_lin)
    power = cal.power.sum()
    return {
        "seed": seed,
        "n_train": args.n_train,
        "n_test": args.n_test,
        "n_iterations": model.history.n_iterations,
        "best_iteration": model.history.best_iteration,
        "train_wall_s": wall,
        "train_cpu_s": cpu,
        "sample_wall_s": sample_s,
        "lmmse_nmse": float(e_lin.sum() / power),
        "lmmse_calibration": lin_cal.ratio,
        "dm_posterior_mean_nmse": cal.nmse,
        "dm_exact_mean_nmse_estimate": cal.nmse_mean,
        "dm_one_sample_nmse": cal.one_sample_nmse,
        "dm_over_lmmse": ratio[0],
        "dm_over_lmmse_lo95": ratio[1],
        "dm_over_lmmse_hi95": ratio[2],
        "calibration_ratio": cal.ratio,
        "calibration_se": cal.ratio_se,
        "plain_ddpm_calibration": plain_cal.ratio,
        "plain_ddpm_posterior_mean_nmse": plain_cal.nmse,
        "warnings": [str(w.message) for w in caught],
        "held_out_loss": model.history.best_validation_loss,
    }


def warning_check(args) -> dict:
    H, Y = pairs(args.n_train, 1000)
    config = replace(beamopt.ScoreConfig(), n_iterations=600)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        beamopt.train_score_model(H, observations=Y, config=config, progress=False)
    msgs = [str(w.message) for w in caught if issubclass(w.category, beamopt.TrainingWarning)]
    return {"warned": any("barely uses its observations" in m for m in msgs), "messages": msgs}


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--out", type=Path, default=Path("out/bench_user_data"))
    p.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    p.add_argument("--n-train", type=int, default=10_000)
    p.add_argument("--n-test", type=int, default=512)
    p.add_argument("--iterations", type=int, default=None, help="default: ScoreConfig's")
    p.add_argument("--steps", type=int, default=20)
    p.add_argument("--n-samples", type=int, default=16)
    p.add_argument("--warning-check", action="store_true")
    p.add_argument(
        "--base",
        choices=("white", "gaussian"),
        default="white",
        help="ScoreConfig.base: what the untrained network starts from",
    )
    p.add_argument("--quick", action="store_true", help="smoke run: 64 test drops, 200 its")
    args = p.parse_args(argv)
    if args.quick:
        args.n_test, args.iterations, args.steps = 64, args.iterations or 200, 10
    args.out.mkdir(parents=True, exist_ok=True)
    rows = []
    for seed in args.seeds:
        path = args.out / f"seed_{seed}.json"
        if path.exists():
            row = json.loads(path.read_text())
        else:
            row = run_seed(seed, args)
            write_atomic(path, json.dumps(row, indent=1))
        rows.append(row)
        print(f"seed {seed}: DM posterior mean {row['dm_posterior_mean_nmse']:.4f}, LMMSE "
              f"{row['lmmse_nmse']:.4f}, ratio {row['dm_over_lmmse']:.3f} "
              f"[{row['dm_over_lmmse_lo95']:.3f}, {row['dm_over_lmmse_hi95']:.3f}], "
              f"calibration {row['calibration_ratio']:.3f} ± {row['calibration_se']:.3f}, "
              f"training {row['train_wall_s']:.0f} s wall / {row['train_cpu_s']:.0f} s CPU",
              flush=True)  # fmt: skip
    keys = ["lmmse_nmse", "dm_posterior_mean_nmse", "dm_exact_mean_nmse_estimate",
            "dm_over_lmmse", "calibration_ratio", "plain_ddpm_calibration",
            "dm_one_sample_nmse", "train_wall_s", "train_cpu_s"]  # fmt: skip
    summary = []
    for key in keys:
        vals = np.array([r[key] for r in rows], dtype=float)
        sd = float(vals.std(ddof=1)) if vals.size > 1 else float("nan")
        summary.append({"metric": key, "mean": float(vals.mean()), "std_over_seeds": sd,
                        "n_seeds": vals.size})  # fmt: skip
        print(f"{key}: {vals.mean():.4f} ± {sd:.4f} over {vals.size} seeds")
    write_csv_rows(args.out / "bench_user_data.csv", summary)
    if args.warning_check:
        check = warning_check(args)
        write_atomic(args.out / "warning_check.json", json.dumps(check, indent=1))
        print(f"600-iteration model warns that it ignores its pilots: {check['warned']}")
    return rows


if __name__ == "__main__":
    main()
