"""Benchmark of the diffusion posterior samplers: accuracy against network evaluations, speed.

**Accuracy.** "Train once, estimate many": one *unconditional* prior model serves the pilot
model through `DiffusionPosterior` (methods smc, tmpd, pigdm, dps, langevin), side by side
with the observation-conditioned `ConditionalSampler` (a model trained for this one pilot
model) and the exact posterior (`GaussianMixturePosterior`, the Monte Carlo floor). The
prior is a two-mode Gaussian mixture on a 2 x 3 channel (weights 0.3 / 0.7, means
+-1.5 e^{0.3j} on every entry, component covariances 0.2 x a random covariance); one pilot
observes the first entry at noise variance 0.5. Every method runs with the exact score
(`GaussianMixtureDenoiser`) and with learned ones (`train_score_model` with the default
`ScoreConfig`, 20 000 training channels, several training seeds). Metrics:

* at the ambiguous pilot y = 0 (exact weight of the first mode 0.298), from `--n-amb` draws:
  the mode-weight error |w - w_exact|, the posterior-mean error over the posterior variance
  ||mean - E[h|y]||^2 / tr Cov[h|y], and the relative covariance error;
* over `--n-drops` channels drawn from the prior (their pilots sampled in one batched call,
  `--n-draws` draws each): the calibration ratio (mean spread of the draws over the mean
  squared error of their mean against the true channel, 1 when calibrated; the squared error
  is averaged over the exact posterior of the channel given the pilots, of which the true
  channel is one draw, which removes most of its Monte Carlo noise), and the spectral
  efficiency of the expected-Gramian precoder (2 streams, 10 dB) built from the draws over
  the same precoder built from as many exact posterior draws, both evaluated on fresh exact
  posterior draws (the ratio's 95 % interval is over drops, paired);
* network evaluations (forward passes) per draw.

Learned rows are mean +- standard deviation over the training seeds (the methods named by
`--learned-methods`, by default the default smc, run on every seed, the others on the first
only; `--exact-only` methods run with the exact score only); single-seed rows give the 95 %
interval over drops of the calibration and SE ratios. Every finished row is written to
`out/rows/` at once, so an interrupted run resumes, and `--part exact` and `--part learned`
can run side by side into one output directory.

**Speed.** Posterior draws per CPU second (one thread: torch and BLAS single-threaded,
timed by the process's CPU clock) for a 128-entry channel (16 x 8) and 20 steps, 64 pilot
vectors x 32 draws in one batched call, for each sampler on an (untrained) MLP model and the
default transformer, with the exact Gaussian posterior's sampler as the baseline in the
same run, and the batched call against a loop over the pilot vectors.

Run ``python benchmarks/bench_score.py --out out`` (about 90 CPU minutes, most of it the
learned rows and four trainings of about 5 minutes each) or ``--quick`` for a smoke run.
BLAS and torch run single-threaded unless the thread variables are set.
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import os
import time
import warnings
from pathlib import Path

for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import numpy as np  # noqa: E402

import beamopt  # noqa: E402

SHAPE = (2, 3)
N_STREAMS = 2
SNR_DB = 10.0


def crandn(rng, shape):
    return (rng.standard_normal(shape) + 1j * rng.standard_normal(shape)) / np.sqrt(2)


def mixture_problem(noise_var: float = 0.5):
    """The two-mode prior on a 2 x 3 channel and one pilot on its first entry."""
    rng = np.random.default_rng(1)
    n = int(np.prod(SHAPE))

    def random_cov():
        G = crandn(rng, (n, n))
        return G @ G.conj().T / n + 0.05 * np.eye(n)

    m = 1.5 * np.exp(0.3j) * np.ones(SHAPE)
    covs = np.stack([0.2 * random_cov(), 0.2 * random_cov()])
    A = np.zeros((1, n), complex)
    A[0, 0] = 1.0
    obs = beamopt.LinearObservation(A, SHAPE, noise_var)
    return beamopt.GaussianMixturePosterior([0.3, 0.7], np.stack([m, -m]), covs, obs)


def mode_labels(post, S, y):
    """Most likely posterior component of each draw."""
    f = S.reshape(len(S), -1)
    logs = []
    for c in post.components:
        d = f - c.mean(y).reshape(-1)
        C = c.covariance + 1e-9 * np.eye(len(c.covariance))
        logs.append(-np.sum(d.conj() * np.linalg.solve(C, d.T).T, 1).real - np.linalg.slogdet(C)[1])
    return np.argmax(np.stack(logs, 1), 1)


def methods(args):
    """(label, kind, options): kind "exact", "conditional" or a DiffusionPosterior method."""
    rows = [("exact posterior", "exact", {})]
    rows.append(("conditional DDIM 50", "conditional", dict(n_steps=50, method="ddim")))
    for K in args.particles:
        rows.append((f"smc K={K} x 50", "smc", dict(n_steps=50, n_particles=K)))
    rows.append(("smc K=5 x 100", "smc", dict(n_steps=100, n_particles=5)))
    rows.append(("smc K=10 x 50, no gradient", "smc", dict(n_steps=50, gradient_guidance=False)))
    rows += [
        ("tmpd DDIM 100", "tmpd", dict(n_steps=100, sampler="ddim", sigma_guidance=10.0)),
        ("pigdm DDIM 100", "pigdm", dict(n_steps=100, sampler="ddim", sigma_guidance=10.0)),
        ("dps 1000, zeta'=1", "dps", dict(n_steps=1000, step_size=1.0)),
        ("dps 1000, zeta'=0.01", "dps", dict(n_steps=1000, step_size=0.01)),
        ("langevin 100 x 3", "langevin", dict(n_steps=100, steps_per_level=3)),
        ("langevin 1000 x 3", "langevin", dict(n_steps=1000, steps_per_level=3)),
    ]
    if args.quick:
        rows = [r for r in rows if "1000" not in r[0]]
        rows = [(lab, k, {**o, "n_steps": min(o.get("n_steps", 5), 5)}) for lab, k, o in rows]
    return rows


def make_sampler(kind, options, post, prior_model, cond_model):
    from beamopt.score import ConditionalSampler, DiffusionPosterior

    if kind == "exact":
        return post, 0
    if kind == "conditional":
        s = ConditionalSampler(cond_model, **options)
        return s, s.n_evaluations
    s = DiffusionPosterior(prior_model, post.pilot_model, method=kind, **options)
    return s, s.n_evaluations


def evaluate(sampler, post, drops, args, seed) -> dict:
    """Metrics of one sampler (see the module docstring)."""
    y = np.zeros(1, complex)
    w0 = post.posterior_weights(y)[0]
    mean, cov = post.mean(y).reshape(-1), post.covariance(y)
    tr = np.trace(cov).real
    S = sampler.sample(y, args.n_amb, seed=seed)
    f = S.reshape(len(S), -1)
    d = f - f.mean(0)
    out = {
        "mode_weight_error": abs(np.mean(mode_labels(post, S, y) == 0) - w0),
        "mean_error_over_variance": float(np.sum(np.abs(f.mean(0) - mean) ** 2) / tr),
        "cov_error": float(np.linalg.norm(d.T @ d.conj() / len(f) - cov) / np.linalg.norm(cov)),
    }
    _, Y, fresh, F_exact = drops
    n = args.n_draws
    draws = sampler.sample(Y, n, seed=seed + 1).reshape(len(Y), n, -1)
    m = draws.mean(1)
    spread = np.sum(np.abs(draws - m[:, None]) ** 2, axis=(1, 2)) / (n - 1)
    # E ||mean - h||^2 over the exact posterior of h given y (the true channels of the drops
    # are draws from it): tr Cov[h|y] + ||mean - E[h|y]||^2, with far less noise than one
    # true channel per drop
    mu = post.mean(Y).reshape(len(Y), -1)
    tr_post = np.trace(post.covariance(Y), axis1=1, axis2=2).real
    sq_err = tr_post + np.sum(np.abs(m - mu) ** 2, axis=1)
    a = spread * (1 + 1 / n)
    cal = float(np.mean(a) / np.mean(sq_err))
    out["calibration_ratio"] = cal
    # delta-method 95 % interval of a ratio of means over drops
    out["calibration_ci"] = float(
        1.96 * np.std(a - cal * sq_err, ddof=1) / np.sqrt(len(a)) / np.mean(sq_err)
    )
    snr = 10 ** (SNR_DB / 10)
    se, se_exact = [], []
    for b in range(len(Y)):
        F = beamopt.expected_gramian_precoder(draws[b].reshape(n, *SHAPE), N_STREAMS).F
        se.append(np.mean(beamopt.spectral_efficiency(fresh[b], F, snr)))
        se_exact.append(np.mean(beamopt.spectral_efficiency(fresh[b], F_exact[b], snr)))
    se, se_exact = np.array(se), np.array(se_exact)
    ratio = se.mean() / se_exact.mean()
    # delta-method interval of a ratio of paired means over drops
    diff = se - ratio * se_exact
    out["se_ratio"] = float(ratio)
    out["se_ratio_ci"] = float(1.96 * diff.std(ddof=1) / np.sqrt(len(Y)) / se_exact.mean())
    return out


def make_drops(post, args):
    rng = np.random.default_rng(args.seed + 5)
    H = post.sample_prior(args.n_drops, seed=rng)
    Y = post.pilot_model.observe(H, seed=rng)
    fresh = post.sample(Y, args.n_fresh, seed=rng)
    exact = post.sample(Y, args.n_draws, seed=rng)
    F = [beamopt.expected_gramian_precoder(exact[b], N_STREAMS).F for b in range(len(Y))]
    return H, Y, fresh, F


def train(post, args, seed, name):
    """The unconditional prior (`name="prior"`) or the conditional model of one training seed
    (default `ScoreConfig`); trained models are kept under `out/models` and reused by later
    runs."""
    from beamopt.score import ScoreConfig, ScoreModel, train_score_model

    rng = np.random.default_rng(100 + seed)
    h = post.sample_prior(args.n_train, seed=rng)
    y = post.pilot_model.observe(h, seed=rng)
    config = ScoreConfig(device="cpu") if not args.quick else ScoreConfig(n_iterations=30)
    path = args.out / "models" / f"{name}_seed{seed}_{args.n_train}.pt"
    if path.exists() and not args.quick:
        return ScoreModel.load(path, device="cpu")
    start = time.perf_counter()
    obs = None if name == "prior" else y
    model = train_score_model(h, observations=obs, config=config, seed=seed, progress=False)
    print(f"trained {name} seed {seed} in {time.perf_counter() - start:.0f} s", flush=True)
    if not args.quick:
        path.parent.mkdir(parents=True, exist_ok=True)
        model.save(path)
    return model


def _row_path(args, score, seed, label) -> Path:
    """One file per finished row (written atomically), so a run resumes where it stopped and
    `--part exact` / `--part learned` can run side by side into one output directory."""
    key = f"{args.n_amb}-{args.n_drops}-{args.n_draws}-{args.n_fresh}-{args.n_train}-{args.seed}"
    safe = "".join(c if c.isalnum() else "_" for c in label)
    name = f"{score.split()[0]}_{seed}_{safe}_{key}.json"
    return args.out / "rows" / name


def accuracy(args) -> list[dict]:
    from beamopt.score import GaussianMixtureDenoiser

    post = mixture_problem()
    drops = make_drops(post, args)
    jobs = []  # (score, seed, label, kind, options)
    if args.part in ("all", "exact"):
        jobs += [("exact score", None, *m) for m in methods(args)]
    if args.part in ("all", "learned"):
        learned = [
            ("learned", seed, *m)
            for seed in args.train_seeds
            for m in methods(args)
            if m[1] != "exact" and _selected(m[0], args, seed)
        ]
        # the rows on every seed first (the headline numbers), then the first seed's others
        on_all = [j for j in learned if _on_every_seed(j[2], args)]
        jobs += on_all + [j for j in learned if j not in on_all]
    exact_models = {
        "prior": GaussianMixtureDenoiser(post.weights, post.means, post.covariances),
        "conditional": GaussianMixtureDenoiser.from_posterior(post),
    }
    learned_models: dict = {}
    rows = []
    for score, seed, label, kind, options in jobs:
        if score == "exact score":
            models = exact_models
        else:
            models = learned_models.setdefault(seed, {})
        path = _row_path(args, score, seed, label)
        if path.exists() and not args.quick:
            row = json.loads(path.read_text())
            rows.append(row)
            print(f"{score:<12} {label:<22} {_fmt(row)} (cached)", flush=True)
            continue
        need = "conditional" if kind == "conditional" else "prior"
        if need not in models and kind != "exact":
            models[need] = train(post, args, seed, need)
        sampler, nfe = make_sampler(
            kind, options, post, models.get("prior"), models.get("conditional")
        )
        start = time.perf_counter()
        metrics = evaluate(sampler, post, drops, args, args.seed + 17)
        row = {
            "score": score,
            "train_seed": seed,
            "method": label,
            "evaluations_per_sample": nfe,
            **metrics,
            "time_s": time.perf_counter() - start,
        }
        rows.append(row)
        if not args.quick:
            path.parent.mkdir(parents=True, exist_ok=True)
            tmp = path.with_suffix(".tmp")
            tmp.write_text(json.dumps(row))
            tmp.replace(path)
        print(f"{score:<12} {label:<22} {_fmt(row)}", flush=True)
    return rows


def _selected(label, args, seed) -> bool:
    """Learned rows: every method but `--exact-only` on the first training seed,
    `--learned-methods` (label prefixes; default all) on every seed."""
    if any(label.startswith(p) for p in args.exact_only):
        return False
    return seed == args.train_seeds[0] or _on_every_seed(label, args)


def _on_every_seed(label, args) -> bool:
    if args.learned_methods is None:
        return True
    return any(label.startswith(p) for p in args.learned_methods)


def _fmt(r) -> str:
    return (
        f"|dw| {r['mode_weight_error']:.3f}  mean/var {r['mean_error_over_variance']:.4f}  "
        f"cov {r['cov_error']:.3f}  calib {r['calibration_ratio']:.3f}"
        f"+-{r['calibration_ci']:.3f}  "
        f"SE {r['se_ratio']:.4f}+-{r['se_ratio_ci']:.4f}  ({r['time_s']:.0f} s)"
    )


def speed(args) -> list[dict]:
    from beamopt.score import (
        ConditionalSampler,
        DiffusionPosterior,
        DiffusionPrior,
        ScoreConfig,
        train_score_model,
    )

    shape = (16, 8)
    n = int(np.prod(shape))
    rng = np.random.default_rng(0)
    mask = np.zeros(16, bool)
    mask[::4] = True
    obs = beamopt.LinearObservation.from_mask(mask, shape, 0.1)
    exact = beamopt.GaussianPosterior(np.eye(n), obs)
    h = exact.sample_prior(256, seed=rng)
    y_train = obs.observe(h, seed=rng)
    B, per = args.speed_batch, args.speed_draws
    Y = obs.observe(exact.sample_prior(B, seed=rng), seed=rng)
    rows = []

    def timed(fn):
        # CPU seconds of this (single-threaded) process: a one-thread rate that other jobs
        # on a shared machine do not distort the way they distort wall time
        fn(Y[:2], 2)  # warm-up (and the smc kernel schedule)
        start = time.process_time()
        out = fn(Y, per)
        t = time.process_time() - start
        assert out.shape == (B, per, *shape)
        return t

    t_exact = timed(lambda Yb, k: exact.sample(Yb, k, seed=1))
    rows.append(
        {
            "network": "-",
            "sampler": "exact Gaussian posterior",
            "evaluations_per_sample": 0,
            "samples_per_s": B * per / t_exact,
            "batched_over_loop": float("nan"),
        }
    )
    for network in ("mlp", "transformer"):
        config = ScoreConfig(network=network, n_iterations=0, device="cpu")  # speed only
        with warnings.catch_warnings():  # untrained on purpose: "ignores its pilots"
            warnings.simplefilter("ignore", beamopt.TrainingWarning)
            prior = train_score_model(h, config=config, progress=False)
            cond = train_score_model(h, observations=y_train, config=config, progress=False)
        samplers = {
            "prior DDIM": DiffusionPrior(cond, n_steps=args.speed_steps, method="ddim"),
            "conditional DDIM": ConditionalSampler(cond, n_steps=args.speed_steps, method="ddim"),
            "smc K=1": DiffusionPosterior(prior, obs, n_steps=args.speed_steps, n_particles=1),
            "smc K=1, no gradient": DiffusionPosterior(
                prior, obs, n_steps=args.speed_steps, n_particles=1, gradient_guidance=False
            ),
            "smc K=5": DiffusionPosterior(prior, obs, n_steps=args.speed_steps, n_particles=5),
            "tmpd (pigdm)": DiffusionPosterior(
                prior, obs, n_steps=args.speed_steps, method="pigdm", sampler="ddim"
            ),
            "dps": DiffusionPosterior(prior, obs, n_steps=args.speed_steps, method="dps"),
            "langevin x1": DiffusionPosterior(
                prior, obs, n_steps=args.speed_steps, method="langevin", steps_per_level=1
            ),
        }
        if network == "transformer":
            samplers = {k: v for k, v in samplers.items() if k in ("conditional DDIM", "smc K=1")}
        for name, s in samplers.items():
            t = timed(lambda Yb, k, s=s: s.sample(Yb, k, seed=2))
            n_loop = max(1, B // 8)  # the loop is timed on a slice and scaled
            start = time.process_time()
            for b in range(n_loop):
                s.sample(Y[b], per, seed=3)
            t_loop = (time.process_time() - start) * B / n_loop
            rows.append(
                {
                    "network": network,
                    "sampler": name,
                    "evaluations_per_sample": s.n_evaluations,
                    "samples_per_s": B * per / t,
                    "batched_over_loop": t_loop / t,
                }
            )
            print(
                f"{network:<12} {name:<20} {B * per / t:8.0f} samples/s "
                f"(batched call {t_loop / t:.1f}x the loop)",
                flush=True,
            )
    return rows


def summarise(rows) -> list[dict]:
    """Learned rows: mean and standard deviation over the training seeds."""
    keys = [
        "mode_weight_error",
        "mean_error_over_variance",
        "cov_error",
        "calibration_ratio",
        "calibration_ci",
        "se_ratio",
        "se_ratio_ci",
    ]
    out = []
    labels = list(dict.fromkeys(r["method"] for r in rows))
    for score in ("exact score", "learned"):
        for label in labels:
            group = [r for r in rows if r["score"] == score and r["method"] == label]
            if not group:
                continue
            entry = {
                "score": score,
                "method": label,
                "n_seeds": len(group),
                "evaluations_per_sample": group[0]["evaluations_per_sample"],
            }
            for k in keys:
                v = np.array([g[k] for g in group])
                entry[k] = float(v.mean())
                entry[k + "_std"] = float(v.std(ddof=1)) if len(v) > 1 else 0.0
            out.append(entry)
    return out


def table(summary) -> str:
    lines = [
        "| score | method | seeds | evals/sample | mode-weight err | mean err / post. var "
        "| cov err | calibration | EG SE ratio |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for r in summary:

        def pm(k, fmt, r=r):
            s = format(r[k], fmt)
            return s + (" ± " + format(r[k + "_std"], fmt) if r["n_seeds"] > 1 else "")

        se = f"{r['se_ratio']:.4f} ± {r['se_ratio_ci']:.4f}"
        cal = f"{r['calibration_ratio']:.3f} ± {r['calibration_ci']:.3f}"
        if r["n_seeds"] > 1:
            se = f"{r['se_ratio']:.4f} ± {r['se_ratio_std']:.4f}"
            cal = f"{r['calibration_ratio']:.3f} ± {r['calibration_ratio_std']:.3f}"
        lines.append(
            f"| {r['score']} | {r['method']} | {r['n_seeds']} | {r['evaluations_per_sample']} | "
            f"{pm('mode_weight_error', '.3f')} | {pm('mean_error_over_variance', '.4f')} | "
            f"{pm('cov_error', '.3f')} | {cal} | {se} |"
        )
    return "\n".join(lines)


def _ratio(x) -> str:
    return "-" if not np.isfinite(x) else f"{x:.1f}x"


def speed_table(rows) -> str:
    lines = [
        "| network | sampler | evals/sample | samples/s | batched call vs loop |",
        "|---|---|---|---|---|",
    ]
    for r in rows:
        lines.append(
            f"| {r['network']} | {r['sampler']} | {r['evaluations_per_sample']} | "
            f"{r['samples_per_s']:.0f} | {_ratio(r['batched_over_loop'])} |"
        )
    return "\n".join(lines)


def done_when(summary) -> str:
    """The acceptance checks of the learned default method and of the exact score."""

    def find(score, prefix):
        return [r for r in summary if r["score"] == score and r["method"].startswith(prefix)]

    lines = []
    for r in find("learned", "smc") + find("exact score", "smc"):
        if r["evaluations_per_sample"] > 500:
            continue
        lo = r["se_ratio"] - (r["se_ratio_std"] if r["n_seeds"] > 1 else r["se_ratio_ci"])
        checks = {
            "weights within 0.05 (0.02 exact)": r["mode_weight_error"] + r["mode_weight_error_std"]
            <= (0.05 if r["score"] == "learned" else 0.02),
            "mean error <= 0.05 var": r["mean_error_over_variance"] <= 0.05,
            "calibration in [0.9, 1.1]": 0.9 <= r["calibration_ratio"] <= 1.1,
            "EG SE within 1 %": lo >= 0.99,
        }
        verdict = ", ".join(f"{k}: {'yes' if v else 'NO'}" for k, v in checks.items())
        evals = r["evaluations_per_sample"]
        lines.append(f"{r['score']}, {r['method']} ({evals} evals): {verdict}")
    return "\n".join(lines)


def write_csv(path: Path, rows) -> None:
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=list(rows[0]))
    writer.writeheader()
    writer.writerows(rows)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(buf.getvalue())
    tmp.replace(path)


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--out", type=Path, default=Path("out"), help="output directory")
    p.add_argument("--n-amb", type=int, default=4000, help="draws at the ambiguous pilot")
    p.add_argument("--n-drops", type=int, default=250, help="channels for calibration and SE")
    p.add_argument("--n-draws", type=int, default=16, help="draws per drop")
    p.add_argument("--n-fresh", type=int, default=256, help="exact draws that score the SE")
    p.add_argument("--n-train", type=int, default=20_000)
    p.add_argument("--train-seeds", type=int, nargs="+", default=[0, 1, 2])
    p.add_argument("--particles", type=int, nargs="+", default=[1, 4, 10])
    p.add_argument(
        "--learned-methods",
        nargs="*",
        default=["smc K=5 x 100"],
        help="label prefixes run on every training seed (the rest on the first only)",
    )
    p.add_argument(
        "--exact-only",
        nargs="*",
        default=["langevin 1000", "dps 1000, zeta'=1"],
        help="label prefixes run with the exact score only",
    )
    p.add_argument("--speed-batch", type=int, default=64, help="pilot vectors per call")
    p.add_argument("--speed-draws", type=int, default=32, help="draws per pilot vector")
    p.add_argument("--speed-steps", type=int, default=20)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument(
        "--part",
        choices=("all", "exact", "learned"),
        default="all",
        help="accuracy rows to compute (finished rows are read back from out/rows)",
    )
    p.add_argument("--skip-speed", action="store_true")
    p.add_argument("--skip-accuracy", action="store_true")
    p.add_argument("--quick", action="store_true", help="tiny smoke run")
    args = p.parse_args(argv)
    if args.quick:
        args.n_amb, args.n_drops, args.n_draws, args.n_fresh = 64, 6, 8, 16
        args.n_train, args.train_seeds, args.particles = 500, [0], [2]
        args.speed_batch, args.speed_draws, args.speed_steps = 4, 4, 2
    return args


def main(argv=None):
    import torch

    torch.set_num_threads(int(os.environ.get("OMP_NUM_THREADS", "1")))
    args = parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    summary, speed_rows = [], []
    if not args.skip_accuracy:
        rows = accuracy(args)
        write_csv(args.out / "bench_score_accuracy.csv", rows)
        summary = summarise(rows)
        write_csv(args.out / "bench_score_summary.csv", summary)
        print(table(summary))
        print(done_when(summary))
    if not args.skip_speed:
        speed_rows = speed(args)
        write_csv(args.out / "bench_score_speed.csv", speed_rows)
        print(speed_table(speed_rows))
    return summary, speed_rows


if __name__ == "__main__":
    main()
