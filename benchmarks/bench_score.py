"""Benchmark of the diffusion posterior samplers: accuracy vs network evaluations, and speed.

On the two-mode Gaussian-mixture prior of ``examples/learned_posterior.py`` (a
2 x 4 MIMO channel, two pilot columns, pilot SNR 10 dB) an observation-conditioned
MLP score model is trained once; then, for 1000-step DDPM and 100/50/20/10-step
DDIM, posterior draws from the learned model and from the exact score (same
sampler, exact conditional denoiser) are compared with the exact posterior
(`beamopt.GaussianMixturePosterior`) by

* the relative Frobenius error of the sample covariance and the error of the
  sample mean (normalised by the prior power),
* the error of the first mode's weight, and
* the spectral efficiency of the expected-Gramian precoder built from 64 draws,
  averaged over the exact posterior (1000 fresh exact draws per observation), as a
  ratio to the same precoder built from 64 exact draws (the goal: within 1 % at
  <= 50 network evaluations per sample).

It also measures posterior samples per second of the learned 50-step DDIM
sampler on CPU, and on CUDA when present, with the exact posterior's sampler
timed in the same run as the baseline.

Run ``python benchmarks/bench_score.py --out out`` (a few minutes on two cores) or
``--quick`` for a smoke run. BLAS and torch run single-threaded unless the
thread variables are set.
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import time
from pathlib import Path

for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import numpy as np  # noqa: E402

import beamopt  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
CONFIGS = (("ddpm", 1000), ("ddim", 100), ("ddim", 50), ("ddim", 20), ("ddim", 10))


def _example():
    path = ROOT / "examples" / "learned_posterior.py"
    spec = importlib.util.spec_from_file_location("learned_posterior_example", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _expected_se(F, fresh, snr):
    return float(np.mean(beamopt.spectral_efficiency(fresh, F, snr)))


def accuracy(args, ex, prior, obs, post, model) -> list[dict]:
    from beamopt.score import ConditionalSampler, GaussianMixtureDenoiser

    weights, means, covs = prior
    power = float(np.sum(weights * np.trace(covs, axis1=1, axis2=2).real)) + float(
        np.sum(weights * np.sum(np.abs(means) ** 2, axis=(1, 2)))
    )
    exact_score = GaussianMixtureDenoiser.from_posterior(post)
    snr = 10 ** (args.snr_db / 10)
    rng = np.random.default_rng(args.seed + 7)
    trials = []
    for _ in range(args.n_trials):
        y = obs.observe(post.sample_prior(1, seed=rng)[0], seed=rng)
        fresh = post.sample(y, args.n_fresh, seed=rng)
        F_ex = beamopt.expected_gramian_precoder(post.sample(y, 64, seed=rng), args.n_streams).F
        trials.append((y, fresh, _expected_se(F_ex, fresh, snr), int(rng.integers(2**31))))
    rows = []
    for method, n_steps in CONFIGS:
        for name, den in (("learned", model), ("exact_score", exact_score)):
            sampler = ConditionalSampler(den, n_steps=n_steps, method=method)
            acc = {"mean": [], "cov": [], "w0": [], "se_ratio": []}
            for y, fresh, se_exact, seed in trials:
                S = sampler.sample(y, args.n_samples, seed=seed)
                f = S.reshape(len(S), -1)
                m = f.mean(0)
                d = f - m
                C_ex = post.covariance(y)
                acc["mean"].append(np.sum(np.abs(m - post.mean(y).reshape(-1)) ** 2) / power)
                acc["cov"].append(
                    np.linalg.norm(d.T @ d.conj() / len(f) - C_ex) / np.linalg.norm(C_ex)
                )
                w0 = np.mean(ex._labels(post, S, y) == 0)
                acc["w0"].append(abs(w0 - post.posterior_weights(y)[0]))
                F = beamopt.expected_gramian_precoder(S[:64], args.n_streams).F
                acc["se_ratio"].append(_expected_se(F, fresh, snr) / se_exact)
            rows.append(
                {
                    "sampler": name,
                    "method": method,
                    "n_steps": n_steps,
                    "evaluations_per_sample": sampler.n_evaluations,
                    "mean_error": float(np.mean(acc["mean"])),
                    "cov_error": float(np.mean(acc["cov"])),
                    "mode_weight_error": float(np.mean(acc["w0"])),
                    "se_ratio_expected_gramian": float(np.mean(acc["se_ratio"])),
                    "se_ratio_sem": float(np.std(acc["se_ratio"], ddof=1) / np.sqrt(len(trials))),
                }
            )
    return rows


def speed(args, obs, post, model) -> list[dict]:
    import torch

    from beamopt.score import ConditionalSampler

    y = obs.observe(post.sample_prior(1, seed=0)[0], seed=1)
    n = args.n_speed
    start = time.perf_counter()
    post.sample(y, n, seed=2)
    t_exact = time.perf_counter() - start
    devices = ["cpu"] + (["cuda"] if torch.cuda.is_available() else [])
    rows = []
    for dev in devices:
        sampler = ConditionalSampler(model.to(dev), n_steps=50, method="ddim", device=dev)
        sampler.sample(y, 16, seed=0)  # warm-up
        start = time.perf_counter()
        sampler.sample(y, n, seed=3)
        if dev == "cuda":
            torch.cuda.synchronize()
        t = time.perf_counter() - start
        rows.append(
            {
                "device": dev,
                "n_samples": n,
                "learned_ddim50_samples_per_s": n / t,
                "exact_posterior_samples_per_s": n / t_exact,
                "ratio_learned_to_exact": t_exact / t,
            }
        )
    model.to("cpu")
    return rows


def summary(acc_rows, speed_rows) -> str:
    lines = [
        f"{'sampler':<12} {'steps':>10} {'evals/sample':>12} {'mean err':>9} {'cov err':>8} "
        f"{'|dw|':>6} {'SE ratio (EG)':>14}"
    ]
    for r in acc_rows:
        lines.append(
            f"{r['sampler']:<12} {r['method'] + ' ' + str(r['n_steps']):>10} "
            f"{r['evaluations_per_sample']:>12} {r['mean_error']:>9.4f} {r['cov_error']:>8.3f} "
            f"{r['mode_weight_error']:>6.3f} "
            f"{r['se_ratio_expected_gramian']:>8.4f}+-{r['se_ratio_sem']:.4f}"
        )
    for r in speed_rows:
        lines.append(
            f"{r['device']}: learned 50-step DDIM {r['learned_ddim50_samples_per_s']:.0f} "
            f"samples/s, exact posterior {r['exact_posterior_samples_per_s']:.0f} samples/s "
            f"(learned/exact time ratio {1 / r['ratio_learned_to_exact']:.0f} x)"
        )
    learned50 = [
        r for r in acc_rows if r["sampler"] == "learned" and r["evaluations_per_sample"] <= 50
    ]
    worst = min(learned50, key=lambda r: r["se_ratio_expected_gramian"])
    gap = 100 * (1 - worst["se_ratio_expected_gramian"])
    verdict = "met" if gap <= 1.0 else "MISSED"
    lines.append(
        f"goal (<= 50 evaluations, EG SE within 1 % of exact samples): {verdict} at every "
        f"such setting (worst {gap:.2f} % below, at {worst['method']} {worst['n_steps']})"
    )
    return "\n".join(lines)


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--out", type=Path, default=Path("out"), help="output directory")
    p.add_argument("--pilot-snr-db", type=float, default=10.0)
    p.add_argument("--snr-db", type=float, default=10.0, help="downlink transmit SNR")
    p.add_argument("--n-streams", type=int, default=2)
    p.add_argument("--n-trials", type=int, default=12, help="observations averaged over")
    p.add_argument("--n-samples", type=int, default=512, help="draws per posterior")
    p.add_argument("--n-fresh", type=int, default=1000, help="exact draws for the expected SE")
    p.add_argument("--n-speed", type=int, default=2048, help="draws timed per device")
    p.add_argument("--n-train", type=int, default=20_000)
    p.add_argument("--iterations", type=int, default=3000)
    p.add_argument("--width", type=int, default=128)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--quick", action="store_true", help="tiny smoke run")
    p.add_argument("--no-progress", action="store_true", help="hide the progress bar")
    args = p.parse_args(argv)
    if args.quick:
        args.n_trials, args.n_samples, args.n_fresh, args.n_speed = 2, 64, 100, 64
        args.n_train, args.iterations, args.width = 2000, 50, 32
    return args


def main(argv=None):
    import torch

    torch.set_num_threads(int(os.environ.get("OMP_NUM_THREADS", "1")))
    args = parse_args(argv)
    ex = _example()
    prior = ex.mixture_prior(2, 4)
    weights, means, covs = prior
    per_entry = (
        float(np.sum(weights * np.trace(covs, axis1=1, axis2=2).real))
        + float(np.sum(weights * np.sum(np.abs(means) ** 2, axis=(1, 2))))
    ) / 8
    obs = ex.pilot_observation(2, 4, 2, per_entry / 10 ** (args.pilot_snr_db / 10))
    post = beamopt.GaussianMixturePosterior(weights, means, covs, obs)
    train_args = argparse.Namespace(
        n_train=args.n_train,
        width=args.width,
        iterations=args.iterations,
        device="cpu",
        no_progress=args.no_progress,
    )
    start = time.perf_counter()
    model = ex.train(train_args, prior, obs, args.seed)
    print(f"trained in {time.perf_counter() - start:.0f} s ({args.iterations} iterations)")
    acc_rows = accuracy(args, ex, prior, obs, post, model)
    speed_rows = speed(args, obs, post, model)
    args.out.mkdir(parents=True, exist_ok=True)
    ex.write_csv(args.out / "bench_score_accuracy.csv", acc_rows)
    ex.write_csv(args.out / "bench_score_speed.csv", speed_rows)
    print(summary(acc_rows, speed_rows))
    print(f"wrote {args.out / 'bench_score_accuracy.csv'} and bench_score_speed.csv")
    return acc_rows, speed_rows


if __name__ == "__main__":
    main()
