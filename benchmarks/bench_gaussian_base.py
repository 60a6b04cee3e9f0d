"""Cost of `ScoreConfig(base="gaussian")` at large channels, against `fit_lmmse` in the same run.

Usage::

    python benchmarks/bench_gaussian_base.py [--entries 512 2048 4096] [--n-samples 3000]
        [--n-pilots 32] [--batch 64] [--repeats 3] [--seed 0] [--out out/]

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

Writes `bench_gaussian_base.csv` to `--out`.
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
    args = parser.parse_args(argv)
    rng = np.random.default_rng(args.seed)
    rows = []
    for n in args.entries:
        if args.n_pilots > n:
            parser.error(f"--n-pilots must be <= every --entries value; got {args.n_pilots} > {n}")
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
    with (out / "bench_gaussian_base.csv").open("w", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    return rows


if __name__ == "__main__":
    main()
