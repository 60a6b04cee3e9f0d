"""Benchmark of the Bayesian precoders: run time and manifold-vs-expected-Gramian gap.

For multi-modal posterior-like channel draws ``H_s = M_{z_s} + spread * W_s``
(a mode ``z_s`` drawn uniformly among ``n_modes`` i.i.d. CN(0, 1) means, plus
i.i.d. CN(0, 1) perturbations) this times

* ``expected_gramian_precoder`` (one eigendecomposition),
* ``cme_precoder`` on the sample mean (one SVD),
* ``manifold_precoder`` with trust regions and with conjugate gradients,

against the number of samples and of transmit antennas, and reports the ratio
of each (median) time to the expected-Gramian time measured in the same run. It also
reports the objective gap between the manifold and expected-Gramian
precoders, in sample (the sample-average SE that the manifold precoder
maximises) and out of sample (on fresh draws from the same distribution, i.e.
the expected SE the precoder actually attains), averaged over independent
posteriors.

Run ``python benchmarks/bench_precoders.py --out out`` (under a minute), or
``--quick`` for a smoke run. BLAS runs single-threaded unless
``OPENBLAS_NUM_THREADS`` (or ``OMP_NUM_THREADS``) is set.
"""

from __future__ import annotations

import argparse
import os
import time
from pathlib import Path

# The matrices here are tiny: multi-threaded BLAS only adds thread wake-ups,
# which cost up to a scheduler tick (~16 ms for a 32x32 eigh) on a busy
# machine. Time single-threaded unless the caller set the thread count.
for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import numpy as np  # noqa: E402

import beamopt  # noqa: E402
from beamopt._io import write_csv_rows  # noqa: E402

METHODS = ("expected_gramian", "cme", "manifold_trust_regions", "manifold_conjugate_gradient")


def _crandn(rng, shape):
    return (rng.standard_normal(shape) + 1j * rng.standard_normal(shape)) / np.sqrt(2)


def draws(rng, modes, spread, n_samples):
    """Samples around randomly chosen ``modes`` (n_modes, n_rx, n_tx); (n_samples, n_rx, n_tx)."""
    labels = rng.integers(modes.shape[0], size=n_samples)
    return modes[labels] + spread * _crandn(rng, (n_samples, *modes.shape[1:]))


def _precoder(method, H, n_streams, snr):
    if method == "expected_gramian":
        return beamopt.expected_gramian_precoder(H, n_streams)
    if method == "cme":
        return beamopt.cme_precoder(H.mean(axis=0), n_streams)
    optimizer = method.removeprefix("manifold_")
    return beamopt.manifold_precoder(H, n_streams, snr, optimizer=optimizer, max_iterations=500)


def time_precoder(method, H, n_streams, snr, repeats):
    """Wall times of ``repeats`` runs, and the last result."""
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        result = _precoder(method, H, n_streams, snr)
        times.append(time.perf_counter() - start)
    return times, result


def run(args) -> list[dict]:
    """Time every method on every (n_tx, n_samples); one row per combination."""
    from tqdm import tqdm

    rng = np.random.default_rng(args.seed)
    snr = beamopt.db_to_linear(args.snr_db)
    # Warm up imports (pymanopt pulls in torch) so they do not pollute the first timing.
    beamopt.manifold_precoder(draws(rng, np.eye(2, 3)[None], 1.0, 4), 1, 1.0)
    rows = []
    grid = [(n_tx, n) for n_tx in args.n_tx for n in args.n_samples]
    for n_tx, n_samples in tqdm(grid, disable=args.no_progress, unit="config"):
        times = {m: [] for m in METHODS}
        se_in = {m: [] for m in METHODS}
        se_fresh = {m: [] for m in METHODS}
        iterations = {m: [] for m in METHODS}
        # Several independent posteriors (means) per configuration: the gaps of
        # one instance are too noisy to compare configurations.
        for _ in range(args.n_instances):
            modes = _crandn(rng, (args.n_modes, args.n_rx, n_tx))
            H = draws(rng, modes, args.spread, n_samples)
            fresh = draws(rng, modes, args.spread, args.n_fresh)
            for method in METHODS:
                t, result = time_precoder(method, H, args.n_streams, snr, args.repeats)
                times[method] += t
                se_in[method].append(np.mean(beamopt.spectral_efficiency(H, result.F, snr)))
                se_fresh[method].append(np.mean(beamopt.spectral_efficiency(fresh, result.F, snr)))
                iterations[method].append(result.iterations)
        base_time = float(np.median(times["expected_gramian"]))
        for method in METHODS:
            t = float(np.median(times[method]))
            rows.append(
                {
                    "n_tx": n_tx,
                    "n_samples": n_samples,
                    "method": method,
                    "time_s": t,
                    "time_ratio_vs_eg": t / base_time,
                    "se_in_sample": float(np.mean(se_in[method])),
                    "se_fresh": float(np.mean(se_fresh[method])),
                    "iterations": float(np.mean(iterations[method])),
                }
            )
    return rows


def summary(rows) -> str:
    """Time ratios and manifold-vs-EG SE gaps, one line per configuration."""
    lines = [
        f"{'n_tx':>5} {'S':>5} {'t_EG[ms]':>9} {'TR/EG':>8} {'CG/EG':>8} {'CME/EG':>7} "
        f"{'gap_in[%]':>9} {'gap_fresh[%]':>12} {'CME_fresh[%]':>12}"
    ]
    configs = sorted({(r["n_tx"], r["n_samples"]) for r in rows})
    for n_tx, n in configs:
        by = {r["method"]: r for r in rows if (r["n_tx"], r["n_samples"]) == (n_tx, n)}
        eg, tr = by["expected_gramian"], by["manifold_trust_regions"]
        gap_in = 100 * (tr["se_in_sample"] / eg["se_in_sample"] - 1)
        gap_fresh = 100 * (tr["se_fresh"] / eg["se_fresh"] - 1)
        cme_fresh = 100 * (by["cme"]["se_fresh"] / eg["se_fresh"] - 1)
        lines.append(
            f"{n_tx:>5} {n:>5} {1e3 * eg['time_s']:>9.3f} {tr['time_ratio_vs_eg']:>8.0f} "
            f"{by['manifold_conjugate_gradient']['time_ratio_vs_eg']:>8.0f} "
            f"{by['cme']['time_ratio_vs_eg']:>7.2f} {gap_in:>9.2f} {gap_fresh:>12.2f} "
            f"{cme_fresh:>12.2f}"
        )
    return "\n".join(lines)


def plot_benchmark(rows, axes=None):
    """Time vs samples (left) and manifold-vs-EG gap vs samples (right); returns the Axes."""
    import matplotlib.pyplot as plt

    if axes is None:
        _, axes = plt.subplots(1, 2, figsize=(11, 4.2))
    n_txs = sorted({r["n_tx"] for r in rows})
    markers = dict(zip(METHODS, "os^v"))
    colours = plt.cm.viridis(np.linspace(0.1, 0.85, len(n_txs)))
    for colour, n_tx in zip(colours, n_txs):
        for method in METHODS:
            sel = [r for r in rows if r["n_tx"] == n_tx and r["method"] == method]
            axes[0].loglog(
                [r["n_samples"] for r in sel],
                [r["time_s"] for r in sel],
                marker=markers[method],
                color=colour,
                ls="-" if method.startswith("manifold") else ":",
                label=f"{method}, n_tx={n_tx}" if n_tx in (n_txs[0], n_txs[-1]) else None,
            )
        eg = [r for r in rows if r["n_tx"] == n_tx and r["method"] == "expected_gramian"]
        tr = [r for r in rows if r["n_tx"] == n_tx and r["method"] == "manifold_trust_regions"]
        n = [r["n_samples"] for r in eg]
        for key, ls in (("se_in_sample", "--"), ("se_fresh", "-")):
            gap = [100 * (b[key] / a[key] - 1) for a, b in zip(eg, tr)]
            label = f"n_tx={n_tx}, {'in sample' if key == 'se_in_sample' else 'fresh draws'}"
            axes[1].semilogx(n, gap, ls=ls, marker="o", color=colour, label=label)
    axes[0].set(xlabel="posterior samples", ylabel="time (s)", title="precoder run time")
    axes[1].axhline(0, color="k", lw=0.8)
    axes[1].set(
        xlabel="posterior samples",
        ylabel="SE gain of manifold over EG (%)",
        title="manifold vs expected Gramian",
    )
    for ax in axes:
        ax.grid(alpha=0.3, which="both")
        ax.legend(fontsize=7)
    return axes


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--out", type=Path, default=Path("out"), help="output directory")
    p.add_argument("--n-tx", type=int, nargs="+", default=[4, 8, 16, 32])
    p.add_argument("--n-samples", type=int, nargs="+", default=[1, 4, 16, 64, 256])
    p.add_argument("--n-rx", type=int, default=2)
    p.add_argument("--n-streams", type=int, default=2)
    p.add_argument("--n-modes", type=int, default=2, help="posterior modes")
    p.add_argument("--spread", type=float, default=0.3, help="posterior spread around a mode")
    p.add_argument("--snr-db", type=float, default=10.0, help="downlink transmit SNR")
    p.add_argument("--n-fresh", type=int, default=4000, help="fresh draws for the expected SE")
    p.add_argument("--repeats", type=int, default=3, help="timing repeats per instance")
    p.add_argument("--n-instances", type=int, default=8, help="independent posteriors per config")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--quick", action="store_true", help="tiny smoke run")
    p.add_argument("--no-progress", action="store_true", help="hide the progress bar")
    args = p.parse_args(argv)
    if args.quick:
        args.n_tx, args.n_samples, args.repeats, args.n_fresh = [4], [2, 8], 1, 200
        args.n_instances = 1
    return args


def main(argv=None) -> list[dict]:
    args = parse_args(argv)
    import matplotlib.pyplot as plt

    rows = run(args)
    args.out.mkdir(parents=True, exist_ok=True)
    write_csv_rows(args.out / "bench_precoders.csv", rows)
    axes = plot_benchmark(rows)
    fig = axes[0].figure
    fig.tight_layout()
    fig.savefig(args.out / "bench_precoders.png", dpi=150)
    plt.close(fig)
    print(summary(rows))
    print(f"wrote {args.out / 'bench_precoders'}.csv and .png")
    return rows


if __name__ == "__main__":
    main()
