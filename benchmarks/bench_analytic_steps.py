"""How wide are few-step DDPM draws? Plain, isotropic-analytic and low-rank analytic steps.

Usage::

    python benchmarks/bench_analytic_steps.py [--drops 96] [--draws 32] [--steps 20]
        [--ranks 16 32 64] [--n-train 20000] [--seed 0] [--out out/]

Reference in both cases: the *exact* Gaussian posterior, sampled through its exact denoiser,
so every shortfall is the reverse step's, not a model's.

* **Anisotropic toy** (12 entries, prior eigenvalues over three decades, 6 pilots at noise
  0.1): total spread and spread along the widest posterior direction of 6 000 draws at 4 and
  20 steps, over the exact posterior's; the curve is measured by
  `estimate_posterior_variance` on 3 000 held-out pairs, as `train_score_model` measures it.
* **The study's channels** (`examples/score_precoding.py`: a UMa drop, 24 subcarriers x 2 x 4,
  low mobility, UL SNR uniform in [-10, 10] dB): the noise-aware LMMSE posterior of each of
  `--drops` test drops (covariances from `--n-train` training drops), one drop-averaged error
  covariance curve as the analytic step uses it, `--draws` draws per drop; the spread over
  the exact posterior variance, overall and for the drops below -3 dB / above 3 dB.

Writes `bench_analytic_steps.csv` to `--out`.
"""

from __future__ import annotations

import argparse
import csv
import importlib.util
import sys
import time
from pathlib import Path

import numpy as np
import torch

ROOT = Path(__file__).resolve().parents[1]


def _toy(rows):
    sys.path.insert(0, str(ROOT))
    from beamopt.score import ConditionalSampler
    from beamopt.score.variance import PosteriorVariance, estimate_posterior_variance
    from tests.score.test_variance import _anisotropic, _held_pairs

    post, den, y = _anisotropic()
    z, yh = _held_pairs(post, 3000, seed=6)
    lv, W = np.linalg.eigh(post.covariance)
    full = estimate_posterior_variance(den.predict_noise, z, yh, sigma_min=2e-3,
                                       sigma_max=100.0, rank=12)  # fmt: skip
    curves = {
        "plain DDPM": None,
        "analytic, isotropic": PosteriorVariance(full.sigma, full.conditional, full.null, 1),
        "analytic, rank 4": estimate_posterior_variance(
            den.predict_noise, z, yh, sigma_min=2e-3, sigma_max=100.0, rank=4
        ),
        "analytic, rank 12 (full)": full,
    }
    for name, curve in curves.items():
        object.__setattr__(den, "posterior_variance", curve or full)
        for steps in (4, 20):
            variance = "ddpm" if curve is None else "analytic"
            draws = ConditionalSampler(den, n_steps=steps, variance=variance).sample(
                y, 6000, seed=3
            )
            d = draws.reshape(len(draws), -1)
            d = d - d.mean(0)
            total = np.mean(np.sum(np.abs(d) ** 2, 1)) / lv.sum()
            widest = np.mean(np.abs(d @ W[:, -1].conj()) ** 2) / lv[-1]
            rows.append(["toy (12 entries)", name, steps, total, widest, "", ""])
            print(f"toy  {name:26s} {steps:3d} steps: total {total:.3f}, widest {widest:.3f}")


def _study_posteriors(n_train, n_drops, seed):
    """Per-drop noise-aware LMMSE posterior covariances (normalised) of the study's channels."""
    from beamopt.channels import ChannelConfig, build_dataset

    spec = importlib.util.spec_from_file_location("sp", ROOT / "examples" / "score_precoding.py")
    sp = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(sp)
    cfg = ChannelConfig(speed_kmh=sp.REGIMES["low"], snr_db=sp.UL_SNR_DB)
    train = build_dataset(cfg, n_train, seed=seed, progress=False)
    test = build_dataset(cfg, n_drops, seed=seed + 1000, progress=False)
    aw = sp.NoiseAwareLMMSE(train, cfg)
    d = aw.c_hh.shape[0]
    s2 = np.real(np.trace(aw.c_hh)) / d
    covs = aw.c_hh[None] - np.einsum("ic,nc,jc->nij", aw.B, aw._d(test.noise_var), aw.B.conj())
    lv, U = np.linalg.eigh(covs / s2)
    return np.maximum(lv, 0.0), U, test.snr_db


def _study(rows, args):
    from beamopt.score.samplers import reverse_diffusion
    from beamopt.score.variance import PosteriorVariance

    lv, U, snr = _study_posteriors(args.n_train, args.drops, args.seed)
    n, d = lv.shape
    ratio = np.median(lv[:, -1] / np.median(lv, 1))
    print(f"study: largest / median posterior eigenvalue {ratio:.0f}")
    Ut = torch.as_tensor(U)
    lt = torch.as_tensor(lv)
    S = args.draws

    def noise_fn(x, sigma):  # exact denoiser of CN(0, U diag(lv) U^H) per drop, batched
        xb = x.reshape(n, S, d).transpose(1, 2)  # (n, d, S)
        coef = (Ut.conj().transpose(1, 2) @ xb) * (lt / (lt + sigma[0] ** 2))[:, :, None]
        return ((xb - Ut @ coef) / sigma[0]).transpose(1, 2).reshape(n * S, d)

    grid = np.geomspace(2e-3, 100.0, 24)
    err = np.array([np.einsum("nij,nj,nkj->ik", U, lv * s**2 / (lv + s**2), U.conj()) / n
                    for s in grid])  # fmt: skip
    V = np.real(np.einsum("gii->g", err)) / d
    _, vecs = np.linalg.eigh(err.sum(0))
    post = lv.sum(1)
    lo, hi = snr < -3.0, snr > 3.0
    configs = [("plain DDPM", args.steps, None), ("plain DDPM", 50, None),
               ("analytic, isotropic", args.steps, 0)]  # fmt: skip
    configs += [(f"analytic, rank {r}", args.steps, r) for r in args.ranks]
    for name, steps, rank in configs:
        if rank is None:
            var = None
        elif rank == 0:
            curve = PosteriorVariance(grid, V, V, 1)
            var = curve.covariance
        else:
            B = np.ascontiguousarray(vecs[:, ::-1][:, :rank])
            sub = np.einsum("ia,gij,jb->gab", B.conj(), err, B)
            var = PosteriorVariance(grid, V, V, 1, B, sub, B, sub).covariance
        t0 = time.perf_counter()
        z = reverse_diffusion(noise_fn, (d,), n * S, steps, variance=var,
                              generator=torch.Generator().manual_seed(1)).numpy()  # fmt: skip
        z = z.reshape(n, S, d)
        spread = np.sum(np.abs(z - z.mean(1, keepdims=True)) ** 2, axis=2).mean(1) * S / (S - 1)
        r_all, r_lo, r_hi = (spread[m].sum() / post[m].sum() for m in (slice(None), lo, hi))
        rows.append(["study channels (192 entries)", name, steps, r_all, "", r_lo, r_hi])
        print(f"study {name:22s} {steps:3d} steps: {r_all:.3f} (below -3 dB {r_lo:.3f}, "
              f"above 3 dB {r_hi:.3f}; {time.perf_counter() - t0:.0f} s)")  # fmt: skip


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--drops", type=int, default=96)
    p.add_argument("--draws", type=int, default=32)
    p.add_argument("--steps", type=int, default=20)
    p.add_argument("--ranks", type=int, nargs="+", default=[16, 32, 64])
    p.add_argument("--n-train", type=int, default=20000)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", type=Path, default=Path("out"))
    args = p.parse_args(argv)
    if min(args.drops, args.steps, args.n_train) < 1 or args.draws < 2:
        p.error("--drops, --steps and --n-train must be >= 1 and --draws >= 2")
    rows = []
    _toy(rows)
    _study(rows, args)
    args.out.mkdir(parents=True, exist_ok=True)
    with open(args.out / "bench_analytic_steps.csv", "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["case", "reverse step", "steps", "spread / exact", "widest direction",
                    "below -3 dB", "above 3 dB"])  # fmt: skip
        for r in rows:
            w.writerow([f"{v:.4f}" if isinstance(v, float) else v for v in r])
    print(f"wrote {args.out / 'bench_analytic_steps.csv'}")


if __name__ == "__main__":
    main()
