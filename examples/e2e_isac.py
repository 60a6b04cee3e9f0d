"""Model-driven end-to-end ISAC vs the model-based baseline, with and without array impairments.

Usage::

    python examples/e2e_isac.py [--out out] [--iterations 2000] [--quick]

Settings of Model-Driven End-to-End Learning for Integrated Sensing and Communication:
K = 16, E_tx = 1, 4-QAM, SNR_r = 0 dB, SNR_c = 20 dB, user sector [30, 50] deg,
P_fa = 1e-2, target sector [-40, -20] deg and the unseen [-20, 20] deg. The dictionary is
trained on random sectors for ``--iterations`` Adam steps (the paper uses 50 000 at
learning rate 1e-3; the CPU-sized default is much smaller with a larger rate). Writes
``e2e_isac.csv`` / ``e2e_isac.png`` (missed detection and angle RMSE vs SER over rho) and
``e2e_calibration.csv`` / ``e2e_calibration.png`` (correlation of the learned dictionary
columns with the true impaired steering vectors). The neural-network autoencoder baseline
of the paper's Table I is trained once per ``--nn-omegas`` value (the paper retrains for every
omega_r) at each ``--nn-complexity`` level ("full": N = 1024, "limited": N = 21) for
``--nn-iterations`` Adam steps per training step.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from beamopt._io import write_csv_rows
from beamopt.beampattern import (
    SensingReceiver,
    angle_grid,
    desired_pattern,
    dictionary_correlation,
    ideal_positions,
    impaired_positions,
    isac_tradeoff,
    ls_beam,
    neural_isac_tradeoff,
    plot_isac_tradeoff,
    steering_matrix,
    train_model_driven,
    train_neural_isac,
)

K, COMM = 16, (30.0, 50.0)
RHO = [0, 1e-6, 1e-5, 1e-4, 1e-3, 1e-2, 0.05, 0.1, 0.15, 0.4, 0.6, 0.8, 1]


def evaluate(dictionary, grid, receiver, true_pos, sector, label, n_samples, seed):
    xr = ls_beam(dictionary, desired_pattern(grid, sector))
    xc = ls_beam(dictionary, desired_pattern(grid, COMM))
    return isac_tradeoff(xr, xc, receiver, true_pos, sector, COMM, RHO, n_samples=n_samples,
                         n_threshold=4 * n_samples, rng=seed, label=label)  # fmt: skip


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path("out"))
    parser.add_argument("--iterations", type=int, default=1000, help="Adam steps (paper: 50000)")
    parser.add_argument("--batch", type=int, default=500)
    parser.add_argument("--lr", type=float, default=3e-3)
    parser.add_argument("--n-grid", type=int, default=156, help="grid size (paper: 500 or 156)")
    parser.add_argument("--samples", type=int, default=20_000, help="Monte Carlo draws per rho")
    parser.add_argument("--seed", type=int, default=1, help="seed of the impairment realisation")
    parser.add_argument("--nn-iterations", type=int, default=500, help="Adam steps per NN step")
    parser.add_argument("--nn-lr", type=float, default=3e-3)
    parser.add_argument("--nn-omegas", type=float, nargs="+", default=[0.0, 0.01, 0.1, 0.4, 1.0])
    parser.add_argument("--nn-complexity", nargs="+", default=["limited", "full"],
                        choices=["limited", "full"])  # fmt: skip
    parser.add_argument("--device", default="auto", help="torch device for the learning")
    parser.add_argument("--quick", action="store_true", help="tiny run (for the tests)")
    args = parser.parse_args(argv)
    if args.quick:
        args.iterations, args.batch, args.samples = 20, 64, 500
        args.nn_iterations, args.nn_omegas, args.nn_complexity = 5, [0.0, 1.0], ["limited"]

    arrays = {"ideal": ideal_positions(K), "impaired": impaired_positions(K, rng=args.seed)}
    rows, curves, calib = [], [], []
    for name, true_pos in arrays.items():
        res = train_model_driven(true_pos, n_grid=args.n_grid, n_iterations=args.iterations,
                                 batch_size=args.batch, learning_rate=args.lr, rng=0,
                                 device=args.device)  # fmt: skip
        nets = {
            c: [train_neural_isac(true_pos, w, complexity=c, n_iterations=args.nn_iterations,
                                  batch_size=args.batch, learning_rate=args.nn_lr, rng=0,
                                  device=args.device) for w in args.nn_omegas]
            for c in args.nn_complexity
        }  # fmt: skip
        print(f"{name}: held-out loss {res.history.initial_validation_loss:.3e} -> "
              f"{res.history.best_validation_loss:.3e} "
              f"({res.solve_time:.0f} s)")  # fmt: skip
        grid = res.grid
        ideal_A = steering_matrix(angle_grid(500), ideal_positions(K))
        sectors = [(-40.0, -20.0)] + ([(-20.0, 20.0)] if name == "impaired" else [])
        for sector in sectors:
            base = evaluate(ideal_A, angle_grid(500),
                            SensingReceiver.from_positions(sector, ideal_positions(K)),
                            true_pos, sector, "baseline", args.samples, 7)  # fmt: skip
            learned = evaluate(res.dictionary, grid,
                               SensingReceiver.from_dictionary(res.dictionary, grid, sector),
                               true_pos, sector, "model-driven", args.samples, 7)  # fmt: skip
            nn = [neural_isac_tradeoff(r, true_pos, sector, n_samples=args.samples,
                                       n_threshold=4 * args.samples, rng=7, label=f"NN ({c})")
                  for c, r in nets.items()]  # fmt: skip
            curves.append((f"{name} array, target in {sector}", base, learned, *nn))
            for t in (base, learned, *nn):
                for r in t.rows():
                    rows.append({"array": name, "sector": f"{sector[0]:g}..{sector[1]:g}", **r})
                print(f"  {sector} {t.label:13s} rho=1: P_md {t.p_md[-1]:.4f}, "
                      f"RMSE {t.rmse_deg[-1]:.3f} deg; rho=0: SER {t.ser[0]:.4f}")  # fmt: skip
        c0 = dictionary_correlation(res.initial, grid, true_pos)
        c1 = dictionary_correlation(res.dictionary, grid, true_pos)
        calib.append((name, grid, c0, c1))
        m = np.abs(grid) <= np.deg2rad(60)
        print(
            f"  mean column correlation in [-60, 60] deg: {c0[m].mean():.5f} -> {c1[m].mean():.5f}"
        )

    write_csv_rows(args.out / "e2e_isac.csv", rows)
    write_csv_rows(args.out / "e2e_calibration.csv", [
        {"array": n, "angle_deg": a, "corr_initial": i, "corr_learned": c}
        for n, g, c0, c1 in calib for a, i, c in zip(np.rad2deg(g), c0, c1)
    ])  # fmt: skip

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(len(curves), 2, figsize=(9, 3.2 * len(curves)), squeeze=False)
    for (title, *ts), (ax_md, ax_rmse) in zip(curves, axes):
        for t, style in zip(ts, ("s--", "o-", "^:", "v-.")):
            plot_isac_tradeoff(t, ax_md, metric="p_md", marker=style[0], linestyle=style[1:])
            plot_isac_tradeoff(t, ax_rmse, metric="rmse_deg", marker=style[0], linestyle=style[1:])
        ax_md.set_title(title, fontsize=9)
        ax_md.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(args.out / "e2e_isac.png", dpi=120)

    fig, ax = plt.subplots(figsize=(6, 3.5))
    for name, g, c0, c1 in calib:
        ax.plot(np.rad2deg(g), 1 - c0, "--", label=f"{name}: initial (ideal model)")
        ax.plot(np.rad2deg(g), 1 - c1, "-", label=f"{name}: learned")
    ax.set_yscale("log")
    ax.set_xlabel("grid angle (deg)")
    ax.set_ylabel("1 - correlation with true steering vector")
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(args.out / "e2e_calibration.png", dpi=120)
    plt.close("all")


if __name__ == "__main__":
    main()
