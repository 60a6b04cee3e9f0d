"""The MAPRT sensing receiver at K = 1024 elements: time, memory and accuracy, in one run.

Usage::

    python benchmarks/bench_receiver_scale.py [--n-tx 1024] [--n-trials 20000] [--out out]

Pins BLAS to one thread, so the numbers are per core. For a half-wavelength ULA of
``--n-tx`` elements and the sector [-40, -20] deg it measures

* ``detection_threshold`` with ``--n-trials`` noise draws: wall and CPU seconds and the
  peak of traced memory (``tracemalloc``), for the receiver's default (chirp-z grid in
  sin(theta) from K, parabola + Newton refinement) and its FFT and matrix-product paths,
  against the previous receiver (64 angles over the sector, eight zoom steps on 5-point
  stencils, 4096-draw chunks) timed on one chunk in the same run and scaled per draw
  (targets: < 5 s CPU and < 200 MB for 20 000 draws at K = 1024);
* the accuracy of the statistic under noise: the share of draws within 0.1 % of a
  brute-force dense-grid maximum (32 times finer; target: >= 99.9 %);
* the angle RMSE at high SNR (``--array-snr-db``, 20 dB after the array gain) against the
  deterministic CRB
  ``1 / (8 pi^2 |gamma|^2 cos^2(theta) sum_k p_k^2)`` of ``y = gamma a(theta) + n``
  (target: within 10 %).

Writes ``bench_receiver_scale.csv``.
"""

from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import argparse  # noqa: E402
import time  # noqa: E402
import tracemalloc  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402

from beamopt._io import write_csv_rows  # noqa: E402
from beamopt.beampattern import (  # noqa: E402
    SensingReceiver,
    beamwidth,
    detection_threshold,
    ideal_positions,
    steering_matrix,
)

SECTOR = (-40.0, -20.0)


def legacy_statistic(y, positions, sector_deg, n_grid=64, n_refine=8):
    """The receiver this one replaced: a fixed 64-angle grid, then zooms on 5-point stencils."""
    lo, hi = np.deg2rad(sector_deg)
    grid = np.linspace(lo, hi, n_grid)
    power = np.abs(y @ steering_matrix(grid, positions).conj()) ** 2
    idx = np.argmax(power, axis=-1)
    T, theta = np.take_along_axis(power, idx[..., None], axis=-1)[..., 0], grid[idx]
    step, offsets = grid[1] - grid[0], np.array([-1.0, -0.5, 0.0, 0.5, 1.0])
    for _ in range(n_refine):
        cand = np.clip(theta[..., None] + step * offsets, lo, hi)
        a = np.exp(2j * np.pi * positions * np.sin(cand)[..., None])
        p = np.abs(np.einsum("...ck,...k->...c", a.conj(), y)) ** 2
        j = np.argmax(p, axis=-1)
        theta = np.take_along_axis(cand, j[..., None], axis=-1)[..., 0]
        T = np.take_along_axis(p, j[..., None], axis=-1)[..., 0]
        step /= 2
    return T, theta


def _measure(fn):
    """(result, wall seconds, CPU seconds, peak traced MB) of one call."""
    tracemalloc.start()
    w, c = time.perf_counter(), time.process_time()
    try:
        out = fn()
        wall, cpu = time.perf_counter() - w, time.process_time() - c
        peak = tracemalloc.get_traced_memory()[1] / 1e6
    finally:
        tracemalloc.stop()
    return out, wall, cpu, peak


def _noise(gen, n, k):
    return gen.standard_normal((n, 2 * k)).view(complex) / np.sqrt(2)


def dense_max(y, n_tx, sector_deg, points_per_beam=64):
    """Brute force for the ULA: the largest |a(u)^H y|^2 over a zero-padded FFT grid 8x
    finer than the receiver's (relative grid loss < 1.3e-4) plus the sector's endpoints."""
    lo, hi = np.sin(np.deg2rad(sector_deg))
    n_fft = int(np.ceil(2 * points_per_beam / beamwidth(ideal_positions(n_tx))))
    j = np.arange(np.ceil(lo * n_fft / 2), np.floor(hi * n_fft / 2) + 1).astype(int) % n_fft
    ends = np.exp(1j * np.pi * np.arange(n_tx)[:, None] * np.array([lo, hi])[None, :])
    out = np.empty(y.shape[0])
    for s in range(0, y.shape[0], 100):
        block = y[s : s + 100]
        grid_max = np.max(np.abs(np.fft.fft(block, n=n_fft, axis=-1)[:, j]) ** 2, axis=1)
        out[s : s + 100] = np.maximum(grid_max, np.max(np.abs(block @ ends.conj()) ** 2, axis=1))
    return out


def rmse_over_crb(stat, positions, snr, n, gen):
    """RMSE of the angle estimate over sqrt(CRB), pooled over three angles."""
    p = positions - positions.mean()
    ratios = []
    for theta in np.deg2rad([-36.0, -30.3, -23.0]):
        gamma = np.sqrt(snr) * np.exp(2j * np.pi * gen.uniform(size=n))
        y = gamma[:, None] * steering_matrix(theta, p) + _noise(gen, n, p.size)
        theta_hat = stat(y)[1]
        crb = 1.0 / (8 * np.pi**2 * snr * np.cos(theta) ** 2 * np.sum(p**2))
        ratios.append(np.mean((theta_hat - theta) ** 2) / crb)
    return float(np.sqrt(np.mean(ratios)))


def _verdict(ok: bool, text: str) -> str:
    return f"({text}: {'PASS' if ok else 'FAIL'})"


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n-tx", type=int, default=1024)
    parser.add_argument("--n-trials", type=int, default=20_000)
    parser.add_argument("--n-accuracy", type=int, default=1000, help="draws for the accuracy")
    parser.add_argument("--array-snr-db", type=float, default=20.0,
                        help="K |gamma|^2 / N0 of the CRB check, dB")  # fmt: skip
    parser.add_argument("--out", type=Path, default=Path("out"))
    args = parser.parse_args(argv)
    K, n = args.n_tx, args.n_trials
    pos = ideal_positions(K)
    gen = np.random.default_rng(0)
    y_acc = _noise(gen, args.n_accuracy, K)
    ref = dense_max(y_acc, K, SECTOR)
    snr = 10 ** (args.array_snr_db / 10) / K  # per element

    rows = []
    for method in ("auto", "fft", "matmul"):
        rx = SensingReceiver.from_positions(SECTOR, pos, method=method)
        _, wall, cpu, peak = _measure(lambda rx=rx: detection_threshold(
            rx, 1e-2, n_trials=n, rng=np.random.default_rng(1)))  # fmt: skip
        T = rx.statistic(y_acc)[0]
        rows.append({"receiver": f"new ({rx.method})", "n_tx": K, "n_trials": n,
                     "wall_s": wall, "cpu_s": cpu, "peak_mb": peak,
                     "share_within_0p1pct": float(np.mean(T >= (1 - 1e-3) * ref)),
                     "rmse_over_crb": rmse_over_crb(rx.statistic, pos, snr, 1000, gen),
                     "grid_points": rx.grid.size})  # fmt: skip

    # the previous receiver on one of its 4096-draw chunks, scaled per draw
    m = min(4096, n)

    def legacy():
        return legacy_statistic(_noise(np.random.default_rng(1), m, K), pos, SECTOR)

    _, wall, cpu, peak = _measure(legacy)
    T = legacy_statistic(y_acc, pos, SECTOR)[0]
    rows.append({"receiver": "previous (64 angles + 8 zooms)", "n_tx": K, "n_trials": n,
                 "wall_s": wall * n / m, "cpu_s": cpu * n / m, "peak_mb": peak,
                 "share_within_0p1pct": float(np.mean(T >= (1 - 1e-3) * ref)),
                 "rmse_over_crb": rmse_over_crb(lambda y: legacy_statistic(y, pos, SECTOR), pos,
                                                snr, 1000, gen),
                 "grid_points": 64})  # fmt: skip
    base = rows[-1]
    for r in rows:
        r["speedup_vs_previous"] = base["cpu_s"] / r["cpu_s"]

    args.out.mkdir(parents=True, exist_ok=True)
    write_csv_rows(args.out / "bench_receiver_scale.csv", rows)
    print(f"K = {K}, sector {SECTOR} deg, detection_threshold with {n} draws, one thread")
    for r in rows:
        print(f"  {r['receiver']:32s} cpu {r['cpu_s']:7.2f} s  wall {r['wall_s']:7.2f} s  "
              f"peak {r['peak_mb']:7.1f} MB  within 0.1 %: {100 * r['share_within_0p1pct']:6.2f} %"
              f"  RMSE/sqrt(CRB) {r['rmse_over_crb']:.3f}  "
              f"x{r['speedup_vs_previous']:.1f} vs previous")  # fmt: skip
    new = rows[0]
    print("targets for the default receiver:",
          _verdict(new["cpu_s"] < 5 * n / 20_000, "< 5 s CPU per 20 000 draws"),
          _verdict(new["peak_mb"] < 200, "< 200 MB peak"),
          _verdict(new["share_within_0p1pct"] >= 0.999, ">= 99.9 % within 0.1 %"),
          _verdict(abs(new["rmse_over_crb"] - 1) < 0.1, "RMSE within 10 % of the CRB"))  # fmt: skip
    return rows


if __name__ == "__main__":
    main()
