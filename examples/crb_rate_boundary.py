"""CRB-rate boundaries of the default scenario: signal models and benchmark schemes.

Usage: ``python examples/crb_rate_boundary.py [OUT_DIR]`` (default ``out``). Prints the CRB
of each boundary at a few rates and writes ``crb_rate_boundary.png`` to ``OUT_DIR``.
"""

from __future__ import annotations

import sys
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt

import beamopt


def main(out: str = "out") -> Path:
    sc = beamopt.BistaticScenario.default()
    rates = [0.0, 4.0, 8.0, 12.0]  # bit/s/Hz, below the largest rate of the default user
    fronts = [
        beamopt.crb_rate_boundary(sc, "gaussian", "optimal"),
        beamopt.crb_rate_boundary(sc, "known", "optimal"),
        beamopt.crb_rate_boundary(sc, "gaussian", "time_switching"),
        beamopt.crb_rate_boundary(sc, "gaussian", "power_splitting"),
    ]
    try:  # the superposition design needs the solvers of beamopt.superposition
        fronts.insert(1, beamopt.crb_rate_boundary(sc, "superposition", "optimal"))
    except NotImplementedError as exc:
        print(f"(superposition boundary skipped: {exc})")

    print(f"largest rate {beamopt.max_rate(sc):.2f} bit/s/Hz; CRB (rad^2) at rate:")
    print(f"{'boundary':32s}" + "".join(f"{r:>12.1f}" for r in rates))
    for front in fronts:
        print(f"{front.label:32s}" + "".join(f"{c:12.3e}" for c in front.crb_at(rates)))

    fig, ax = plt.subplots(figsize=(6.4, 4.8), layout="constrained")
    beamopt.plots.plot_boundaries(fronts, ax)
    path = Path(out) / "crb_rate_boundary.png"
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=150)
    plt.close(fig)
    print(f"wrote {path}")
    return path


if __name__ == "__main__":
    main(*sys.argv[1:2])
