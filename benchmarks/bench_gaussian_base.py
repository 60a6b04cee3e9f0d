"""Cost of `ScoreConfig(base="gaussian")` at large channels, against `fit_lmmse` in the same run.

Usage::

    python benchmarks/bench_gaussian_base.py [--entries 512 2048 4096] [--n-samples 3000]
        [--n-pilots 32] [--batch 64] [--repeats 3] [--seed 0] [--out out/] [--noise-aware]

Default BLAS threads (the sizes users run). For each channel size (complex entries) it
draws `--n-samples` correlated channels and noisy pilot observations of `--n-pilots` entries,
then times

* `GaussianBase.fit` (the joint Gaussian fit in real coordinates: the eigendecomposition of
  a 2N x 2N prior and posterior covariance) against `beamopt.fit_lmmse` on the same pairs (the
  complex N x N sample-covariance LMMSE), as the ratio base fit / fit_lmmse;
* `GaussianBase.noise` on a `--batch`-row batch (what the base adds to every forward pass of
  training and sampling; best of `--repeats`), and its error against the exact noise
  prediction of the true Gaussian model at sigma = 0.5, beside the same error of the
  `fit_lmmse` posterior (both are estimates from the same pairs).

With `--noise-aware` the pilots come at UL SNRs uniform in [-10, 10] dB (noise std sigma_i per
drop, appended as the noise row of `append_noise_level`), and it times the noise-aware base
(`ScoreConfig(base="gaussian", noise_row=True)`) against the SNR-blind base on the same pairs
(ratios of fit time and of the noise prediction on a batch of mixed-SNR rows), with both
errors against the exact per-drop noise prediction (each drop's own noise variance).

Writes `bench_gaussian_base.csv` (or `bench_gaussian_base_noise_aware.csv`) to `--out`.
"""

from __future__ import annotations

import argparse
import csv
import time
from pathlib import Path

import numpy as np

NOISE_STD = 0.3  # pilot noise standard deviation (channel entries have unit power)


def _pairs(n_entries, n_samples, n_pilots, rng):
    # exponentially correlated channel (a one-ring-like prior), pilots on the first entries
    idx = np.arange(n_entries)
    corr = 0.9 ** np.abs(idx[:, None] - idx[None, :])
    L = np.linalg.cholesky(corr + 1e-9 * np.eye(n_entries))
    h = _cn(rng, (n_samples, n_entries)) @ L.T
    y = h[:, :n_pilots] + NOISE_STD * _cn(rng, (n_samples, n_pilots))
    return h, y, corr


def _cn(rng, shape):
    return (rng.standard_normal(shape) + 1j * rng.standard_normal(shape)) / np.sqrt(2)


def _exact_noise(x, y, sigma, corr, n_pilots):
    """sigma (C_post + sigma^2 I)^{-1} (x - K y) of the true Gaussian model (no fit)."""
    n = corr.shape[0]
    c_hy = corr[:, :n_pilots]
    K = np.linalg.solve(corr[:n_pilots, :n_pilots] + NOISE_STD**2 * np.eye(n_pilots), c_hy.T).T
    C = corr - K @ c_hy.T
    return sigma * np.linalg.solve(C + sigma**2 * np.eye(n), (x - y @ K.T).T).T


def _exact_noise_per_drop(x, y, v, sigma, corr, n_pilots):
    """The exact noise prediction of each drop with its own pilot noise variance v_i."""
    n = corr.shape[0]
    c_hy, c_yy = corr[:, :n_pilots], corr[:n_pilots, :n_pilots]
    out = np.empty_like(x)
    for i in range(len(x)):
        K = np.linalg.solve(c_yy + v[i] * np.eye(n_pilots), c_hy.T).T
        C = corr - K @ c_hy.T
        out[i] = sigma * np.linalg.solve(C + sigma**2 * np.eye(n), x[i] - K @ y[i])
    return out


def _noise_aware_row(n, args, rng):
    import torch

    from beamopt.score import append_noise_level
    from beamopt.score.gaussian_base import GaussianBase

    h, y, corr = _pairs(n, args.n_samples, args.n_pilots, rng)
    v = 10 ** (-rng.uniform(-10, 10, args.n_samples) / 10)
    y = h[:, : args.n_pilots] + np.sqrt(v)[:, None] * _cn(rng, y.shape)  # per-drop SNR
    yn = append_noise_level(y, v).reshape(args.n_samples, -1)
    feats = {
        "blind": torch.as_tensor(np.concatenate([y.real, y.imag], axis=1)),
        # [Re, Im] features: the noise row's real part sigma_i gives v_i / 2 per real feature
        "aware": torch.as_tensor(np.concatenate([yn.real, yn.imag], axis=1)),
    }
    b = min(args.batch, args.n_samples)
    sigma = 0.5
    x = h[:b] + sigma * _cn(rng, (b, n))
    ref = _exact_noise_per_drop(x, y[:b], v[:b], sigma, corr, args.n_pilots)
    row = {"n_entries": n}
    for kind, f in feats.items():
        base = GaussianBase(n, f.shape[1], args.n_pilots if kind == "aware" else 0)
        t0 = time.perf_counter()
        base.fit(torch.as_tensor(h), f)
        row[f"{kind}_fit_s"] = time.perf_counter() - t0
        call = (base.noise, torch.as_tensor(x, dtype=torch.complex64),
                torch.full((b,), sigma), f[:b].float())  # fmt: skip
        t, eps = _best(lambda c=call: c[0](*c[1:]), args.repeats)
        row[f"{kind}_noise_{b}_rows_ms"] = t * 1e3
        row[f"{kind}_rel_error_vs_exact"] = float(
            np.linalg.norm(eps.numpy() - ref) / np.linalg.norm(ref)
        )
    row["fit_ratio_aware_over_blind"] = row["aware_fit_s"] / row["blind_fit_s"]
    row["noise_ratio_aware_over_blind"] = (
        row[f"aware_noise_{b}_rows_ms"] / row[f"blind_noise_{b}_rows_ms"]
    )
    print(
        f"N = {n:5d}: noise-aware base fit {row['aware_fit_s']:.2f} s "
        f"({row['fit_ratio_aware_over_blind']:.1f}x the SNR-blind base), noise on {b} mixed-SNR "
        f"rows {row[f'aware_noise_{b}_rows_ms']:.1f} ms "
        f"({row['noise_ratio_aware_over_blind']:.1f}x); relative error against the exact "
        f"per-drop model: noise-aware {row['aware_rel_error_vs_exact']:.1e}, SNR-blind "
        f"{row['blind_rel_error_vs_exact']:.1e}"
    )
    return row


def _best(fn, repeats):
    best = np.inf
    for _ in range(repeats):
        t0 = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - t0)
    return best, out


def main(argv=None):
    import torch

    import beamopt
    from beamopt.score.gaussian_base import GaussianBase

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--entries", type=int, nargs="+", default=[512, 2048, 4096])
    parser.add_argument("--n-samples", type=int, default=3000)
    parser.add_argument("--n-pilots", type=int, default=32)
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", default="out")
    parser.add_argument("--noise-aware", action="store_true", help="per-drop SNRs (see above)")
    args = parser.parse_args(argv)
    rng = np.random.default_rng(args.seed)
    rows = []
    for n in args.entries:
        if args.n_pilots > n:
            parser.error(f"--n-pilots must be <= every --entries value; got {args.n_pilots} > {n}")
        if args.noise_aware:
            rows.append(_noise_aware_row(n, args, rng))
            continue
        h, y, corr = _pairs(n, args.n_samples, args.n_pilots, rng)
        t0 = time.perf_counter()
        lin = beamopt.fit_lmmse(h, y)
        t_lmmse = time.perf_counter() - t0
        y_feat = torch.as_tensor(np.concatenate([y.real, y.imag], axis=1))
        base = GaussianBase(n, 2 * args.n_pilots)
        t0 = time.perf_counter()
        base.fit(torch.as_tensor(h), y_feat)
        t_fit = time.perf_counter() - t0

        b = min(args.batch, args.n_samples)
        sigma = 0.5
        x = h[:b] + sigma * _cn(rng, (b, n))
        call = (base.noise, torch.as_tensor(x, dtype=torch.complex64),
                torch.full((b,), sigma), y_feat[:b].float())  # fmt: skip
        t_noise, eps = _best(lambda c=call: c[0](*c[1:]), args.repeats)
        # both fits against the exact noise prediction of the true Gaussian model
        ref = _exact_noise(x, y[:b], sigma, corr, args.n_pilots)
        m = lin.estimate(y[:b]).reshape(b, n)
        lin_eps = sigma * np.linalg.solve(lin.error_cov + sigma**2 * np.eye(n), (x - m).T).T
        err = np.linalg.norm(eps.numpy() - ref) / np.linalg.norm(ref)
        err_lin = np.linalg.norm(lin_eps - ref) / np.linalg.norm(ref)
        rows.append(
            {
                "n_entries": n,
                "fit_lmmse_s": t_lmmse,
                "base_fit_s": t_fit,
                "ratio_base_over_lmmse": t_fit / t_lmmse,
                f"noise_{b}_rows_ms": t_noise * 1e3,
                "base_rel_error_vs_exact": err,
                "fit_lmmse_rel_error_vs_exact": err_lin,
            }
        )
        print(
            f"N = {n:5d}: fit_lmmse {t_lmmse:7.2f} s, base fit {t_fit:7.2f} s "
            f"({t_fit / t_lmmse:.1f}x), base noise on {b} rows {t_noise * 1e3:7.1f} ms, "
            f"relative error against the exact model: base {err:.1e}, fit_lmmse {err_lin:.1e}"
        )
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    name = "bench_gaussian_base_noise_aware.csv" if args.noise_aware else "bench_gaussian_base.csv"
    with (out / name).open("w", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    return rows


if __name__ == "__main__":
    main()
