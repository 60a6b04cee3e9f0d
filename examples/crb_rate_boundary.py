"""CRB-rate boundaries of the default scenario: signal models and benchmark schemes.

Usage::

    python examples/crb_rate_boundary.py [--out out] [--quick] [--rmse-deg]

Prints the CRB of each boundary at a few rates and writes ``crb_rate_boundary.png`` to
``--out``: the optimal boundary of each signal model next to the time-switching and
power-splitting benchmarks (Gaussian signals), on a rate grid that is dense near the
largest rate so the knee is drawn smoothly.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt

import beamopt


def main(argv=None) -> Path:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path("out"), help="output folder (out/)")
    parser.add_argument("--quick", action="store_true", help="few points (for the tests)")
    parser.add_argument("--rmse-deg", action="store_true", help="RMSE bound in degrees")
    args = parser.parse_args(argv)

    sc = beamopt.BistaticScenario.default()
    n_points = 12 if args.quick else 80
    rates = [0.0, 4.0, 8.0, 12.0]  # bit/s/Hz, below the largest rate of the default user
    fronts = [
        beamopt.crb_rate_boundary(sc, signal=signal, scheme=scheme, n_points=n_points)
        for signal, scheme in [
            ("gaussian", "optimal"),
            ("superposition", "optimal"),
            ("known", "optimal"),
            ("gaussian", "time_switching"),
            ("gaussian", "power_splitting"),
        ]
    ]

    print(f"largest rate {beamopt.max_rate(sc):.2f} bit/s/Hz; CRB (rad^2) at rate:")
    print(f"{'boundary':40s}" + "".join(f"{r:>12.1f}" for r in rates))
    for front in fronts:
        print(f"{front.label:40s}" + "".join(f"{c:12.3e}" for c in front.crb_at(rates)))

    fig, ax = plt.subplots(figsize=(6.4, 4.8), layout="constrained")
    beamopt.plots.plot_boundaries(fronts, ax, rmse_deg=args.rmse_deg)
    ax.set_title("CRB-rate boundaries of the default scenario")
    path = args.out / "crb_rate_boundary.png"
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=150)
    plt.close(fig)
    print(f"wrote {path}")
    return path


if __name__ == "__main__":
    main()
