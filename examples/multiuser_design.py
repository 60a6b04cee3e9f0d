"""Multi-user Gaussian-only design: per-user SINR targets, and what happens past the limit.

Usage::

    python examples/multiuser_design.py [--out out] [--quick]

Three users around the BS; every user asks for the same SINR, swept up to the
point where the targets become jointly infeasible. Writes
``multiuser_design.csv`` and ``multiuser_design.png`` to ``--out``.
"""

from __future__ import annotations

import argparse
import csv
from pathlib import Path

import numpy as np

import beamopt


def sweep(scenario, snr_db):
    """CRB of the optimal design per common SINR target, stopping at infeasibility."""
    rows = []
    for db in snr_db:
        try:
            res = beamopt.minimize_crb(scenario, snr_min=10 ** (db / 10))
        except beamopt.InfeasibleError as err:
            print(f"{db:5.1f} dB: infeasible; largest common targets {err.max_achievable}")
            break
        rows.append(
            {"snr_db": db, "crb_rad2": res.crb, "sum_rate_bps_hz": float(np.sum(res.rate)),
             "solve_time_s": res.solve_time}
        )  # fmt: skip
        print(f"{db:5.1f} dB: CRB {res.crb:.3e} rad^2, sum rate {np.sum(res.rate):6.2f} bit/s/Hz")
    return rows


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path("out"))
    parser.add_argument("--quick", action="store_true", help="few points (for the tests)")
    args = parser.parse_args(argv)

    sc = beamopt.BistaticScenario.default(user_angle_deg=[-40.0, -10.0, 50.0], rng=3)
    snr_db = np.arange(0.0, 60.0, 12.0 if args.quick else 3.0)
    rows = sweep(sc, snr_db)
    mrt = beamopt.minimize_crb(sc).crb

    args.out.mkdir(parents=True, exist_ok=True)
    with (args.out / "multiuser_design.csv").open("w", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(5, 3.5))
    ax.semilogy(
        [r["snr_db"] for r in rows], [r["crb_rad2"] for r in rows], "o-", label="optimal (SDP)"
    )
    ax.axhline(mrt, color="k", ls="--", label="sensing-only MRT")
    ax.set(xlabel="per-user SINR target (dB)", ylabel="CRB (rad$^2$)", title="3 users")
    ax.legend()
    fig.tight_layout()
    fig.savefig(args.out / "multiuser_design.png", dpi=120)
    print(f"wrote {args.out / 'multiuser_design.csv'} and {args.out / 'multiuser_design.png'}")


if __name__ == "__main__":
    main()
