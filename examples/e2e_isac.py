"""Model-driven end-to-end ISAC under array impairments: a fair study over impairment seeds.

Usage::

    python examples/e2e_isac.py [--out out] [--seeds 5] [--iterations 2000] [--quick]

Settings of Model-Driven End-to-End Learning for Integrated Sensing and Communication:
K = 16, E_tx = 1, 4-QAM, SNR_r = 0 dB, SNR_c = 20 dB, user sector [30, 50] deg,
P_fa = 1e-2, spacings d_k ~ N(lambda/2, (lambda/30)^2). Two training settings:

* ``paper``: sector centres U[-60, 60] deg, tested on [-40, -20] and the paper's
  "unseen" [-20, 20] deg (inside the training range, and near broadside, where impairments
  barely matter: sin(theta) is small);
* ``half``: centres U[-60, -10] deg, tested on [40, 60] deg (never trained, with headroom:
  the oracle gains there) and on [-40, -20] deg.

For every impairment seed (the array realisation and the training seed) each learner is
trained once per setting, and every receiver of a seed is measured with the same Monte Carlo
draws (common random numbers, so paired differences are tight); the draws change with the
seed, so the spread over seeds includes the Monte Carlo error as well as the array and the
training. Rows:

* ``LS baseline (hard)``: ideal-array LS beams and the MAPRT receiver (continuous refinement);
* ``LS baseline (soft)``: the same beams, soft-argmax over the ideal 500-point dictionary;
* ``untrained (soft)``: the learner's starting point, the ideal dictionary on its training
  grid with its soft-argmax (what the learned receiver is compared against fairly);
* ``dictionary (soft)``/``(hard)``: the learned free dictionary (paper), its estimator or the
  grid argmax;
* ``positions (hard)``/``(soft)``: learned element positions in the model-based LS beam
  and MAPRT receiver, or in the training dictionary's soft-argmax;
* ``oracle (hard)``: the true positions in the model-based beam and receiver;
* ``NN (limited)``: the autoencoder baseline (``--nn-omegas``; omega_r = 1 in the table).

Every seed's results are written atomically to ``<out>/e2e_isac_seeds/seed_<s>.json``;
a rerun with the same settings skips the seeds already there (so an interrupted study
resumes). Writes ``e2e_isac_table.csv`` / ``.md`` (mean +- 1 SE over seeds of P_md and the
RMSE at rho = 1 and of the SER at rho = 0, and paired differences), ``e2e_isac.csv`` (every
curve, seed means and SEs), ``e2e_isac.png`` (trade-off curves over rho with +-1 SE bars)
and ``e2e_calibration.csv`` / ``.png`` (correlation of the learned dictionaries' columns
with the true steering vectors, first seed).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

from beamopt._io import write_atomic, write_csv_rows
from beamopt.beampattern import (
    IsacTradeoff,
    SensingReceiver,
    angle_grid,
    desired_pattern,
    dictionary_correlation,
    ideal_positions,
    impaired_positions,
    isac_tradeoff,
    ls_beam,
    neural_isac_tradeoff,
    plot_dictionary_correlation,
    plot_isac_tradeoff,
    sector_beam,
    steering_matrix,
    train_model_driven,
    train_neural_isac,
)

K, COMM, N_BEAM = 16, (30.0, 50.0), 500
RHO = [0, 1e-6, 1e-5, 1e-4, 1e-3, 1e-2, 0.05, 0.1, 0.15, 0.4, 0.6, 0.8, 1]
SETTINGS = {
    "paper": {"mean_deg": (-60.0, 60.0), "sectors": [(-40.0, -20.0), (-20.0, 20.0)]},
    "half": {"mean_deg": (-60.0, -10.0), "sectors": [(40.0, 60.0), (-40.0, -20.0)]},
}
METRICS = ("p_md", "ser", "rmse_deg")
MC_SEED = 10_000  # Monte Carlo draws of impairment seed s: rng = MC_SEED + s


def _curve(t: IsacTradeoff) -> dict:
    return {"rho": t.rho.tolist(), **{m: np.asarray(getattr(t, m)).tolist() for m in METRICS}}


def _rows_for_sector(sector, true_pos, learned, nets, args, seed):
    """Every receiver of the study on one sector: {label: curve}."""
    grid_b = angle_grid(N_BEAM)
    ideal = ideal_positions(K)
    A_ideal = steering_matrix(grid_b, ideal)
    dic, pos = learned["dictionary"], learned["positions"]
    # common draws for every receiver of a seed, fresh draws for every seed
    kw = dict(n_samples=args.samples, n_threshold=max(4 * args.samples, 2000), rng=MC_SEED + seed)

    def model_based(model):
        xr, xc = sector_beam(sector, positions=model), sector_beam(COMM, positions=model)
        return xr, xc, SensingReceiver.from_positions(sector, model)

    def on_dictionary(D, grid, soft):
        xr = ls_beam(D, desired_pattern(grid, sector))
        xc = ls_beam(D, desired_pattern(grid, COMM))
        return xr, xc, SensingReceiver.from_dictionary(D, grid, sector, soft=soft)

    xr_b, xc_b, rx_b = model_based(ideal)
    designs = {
        "LS baseline (hard)": (xr_b, xc_b, rx_b),
        "LS baseline (soft)": (xr_b, xc_b,
                               SensingReceiver.from_dictionary(A_ideal, grid_b, sector)),
        "untrained (soft)": on_dictionary(dic.initial, dic.grid, True),
        "dictionary (soft)": on_dictionary(dic.dictionary, dic.grid, True),
        "dictionary (hard)": on_dictionary(dic.dictionary, dic.grid, False),
        "positions (hard)": model_based(pos.positions),
        "positions (soft)": on_dictionary(pos.dictionary, pos.grid, True),
        "oracle (hard)": model_based(true_pos),
    }  # fmt: skip
    out = {
        label: _curve(
            isac_tradeoff(xr, xc, rx, true_pos, sector, COMM, args.rho, label=label, **kw)
        )
        for label, (xr, xc, rx) in designs.items()
    }
    if nets:
        t = neural_isac_tradeoff(nets, true_pos, sector, label="NN (limited)", **kw)
        out["NN (limited)"] = _curve(t)
    return out


def run_seed(seed: int, args) -> dict:
    """Train every learner for one impairment seed and measure every receiver."""
    true_pos = impaired_positions(K, rng=seed)
    result = {"seed": seed, "settings": {}, "training": {}}
    for name, setting in SETTINGS.items():
        common = dict(n_iterations=args.iterations, batch_size=args.batch, rng=seed,
                      mean_deg=setting["mean_deg"], device=args.device)  # fmt: skip
        learned = {
            p: train_model_driven(true_pos, parametrisation=p, n_grid=args.n_grid, **common)
            for p in ("dictionary", "positions")
        }
        nets = [
            train_neural_isac(true_pos, w, complexity="limited", learning_rate=args.nn_lr,
                              **{**common, "n_iterations": args.nn_iterations})
            for w in args.nn_omegas
        ]  # fmt: skip
        result["training"][name] = {
            p: {"initial_loss": r.history.initial_validation_loss,
                "best_loss": r.history.best_validation_loss,
                "best_iteration": r.history.best_iteration, "seconds": r.solve_time}
            for p, r in learned.items()
        }  # fmt: skip
        result["settings"][name] = {
            f"{lo:g}..{hi:g}": _rows_for_sector((lo, hi), true_pos, learned, nets, args, seed)
            for lo, hi in setting["sectors"]
        }
        if name == "paper":
            g = learned["dictionary"].grid
            result["calibration"] = {
                "grid": g.tolist(),
                "untrained": dictionary_correlation(learned["dictionary"].initial, g,
                                                    true_pos).tolist(),
                "dictionary": dictionary_correlation(learned["dictionary"].dictionary, g,
                                                     true_pos).tolist(),
                "positions": dictionary_correlation(learned["positions"].dictionary, g,
                                                    true_pos).tolist(),
            }  # fmt: skip
        print(f"  seed {seed} {name}: " + ", ".join(
            f"{p} held-out {r.history.initial_validation_loss:.3e} -> "
            f"{r.history.best_validation_loss:.3e}" for p, r in learned.items()))  # fmt: skip
    return result


def _config(args) -> dict:
    keys = (
        "iterations",
        "batch",
        "n_grid",
        "samples",
        "nn_iterations",
        "nn_lr",
        "nn_omegas",
        "rho",
    )
    return {"mc_seed": MC_SEED, **{k: getattr(args, k) for k in keys}}


def load_or_run(seeds, args) -> list[dict]:
    """Results per seed, reusing the files of an earlier run with the same settings."""
    folder = args.out / "e2e_isac_seeds"
    results = []
    for seed in seeds:
        path = folder / f"seed_{seed}.json"
        if path.exists():
            saved = json.loads(path.read_text())
            if {"rho": RHO, **saved.get("config", {})} == _config(args):
                print(f"seed {seed}: reusing {path}")
                results.append(saved)
                continue
            print(f"seed {seed}: {path} has other settings; recomputing")
        print(f"seed {seed}: training and measuring")
        res = {"config": _config(args), **run_seed(seed, args)}
        write_atomic(path, json.dumps(res))
        results.append(res)
    return results


def _mean_se(values):
    v = np.asarray(values, dtype=float)
    n = np.sum(np.isfinite(v), axis=0)
    mean = np.nanmean(v, axis=0)
    se = np.nanstd(v, axis=0, ddof=1) / np.sqrt(n) if v.shape[0] > 1 else np.full_like(mean, np.nan)
    return mean, se


def summarise(results):
    """Seed means and SEs of every curve; the table at rho = 1 (sensing) and rho = 0 (SER)."""
    curves, table, diffs = [], [], []
    first = results[0]["settings"]
    for setting, sectors in first.items():
        for sector, rows in sectors.items():
            per_row = {}
            for label in rows:
                stack = {m: [r["settings"][setting][sector][label][m] for r in results]
                         for m in METRICS}  # fmt: skip
                per_row[label] = stack
                mean_se = {m: _mean_se(stack[m]) for m in METRICS}
                rho = rows[label]["rho"]
                for i, r in enumerate(rho):
                    curves.append({"setting": setting, "sector": sector, "label": label,
                                   "rho": r, "n_seeds": len(results),
                                   **{f"{m}{s}": mean_se[m][j][i] for m in METRICS
                                      for j, s in enumerate(("", "_se"))}})  # fmt: skip
                i1 = rho.index(1)
                ser0 = [v[rho.index(0)] for v in mean_se["ser"]] if 0 in rho else [np.nan] * 2
                table.append({
                    "setting": setting, "sector": sector, "row": label,
                    "p_md": mean_se["p_md"][0][i1], "p_md_se": mean_se["p_md"][1][i1],
                    "rmse_deg": mean_se["rmse_deg"][0][i1],
                    "rmse_deg_se": mean_se["rmse_deg"][1][i1],
                    "ser_rho0": ser0[0], "ser_rho0_se": ser0[1],
                })  # fmt: skip
            # paired (same seed, same draws) comparisons at rho = 1
            i1 = rows["LS baseline (hard)"]["rho"].index(1)

            def at1(label, m, _rows=per_row, _i=i1):
                return np.array([v[_i] for v in _rows[label][m]])

            # the oracle row is the headroom: what knowing the true array can gain at all
            pairs = [("oracle (hard)", "LS baseline (hard)"),
                     ("positions (hard)", "LS baseline (hard)"),
                     ("positions (hard)", "oracle (hard)"),
                     ("dictionary (soft)", "untrained (soft)"),
                     ("dictionary (soft)", "LS baseline (soft)"),
                     ("dictionary (soft)", "LS baseline (hard)")]  # fmt: skip
            for a, b in pairs:
                d_pmd = _mean_se(at1(a, "p_md") - at1(b, "p_md"))
                ratio = _mean_se(at1(a, "rmse_deg") / at1(b, "rmse_deg") - 1.0)
                diffs.append({"setting": setting, "sector": sector, "row": a, "vs": b,
                              "d_p_md": d_pmd[0], "d_p_md_se": d_pmd[1],
                              "rmse_ratio_minus_1": ratio[0],
                              "rmse_ratio_minus_1_se": ratio[1]})  # fmt: skip
    return curves, table, diffs


def markdown(table, diffs, n_seeds) -> str:
    lines = [f"Mean ± 1 SE over {n_seeds} impairment seeds (training included); P_md and RMSE at "
             "ρ = 1, SER at ρ = 0.", "",
             "| setting | test sector | row | P_md | RMSE (deg) | SER (ρ = 0) |",
             "|---|---|---|---|---|---|"]  # fmt: skip
    for r in table:
        lines.append(f"| {r['setting']} | {r['sector']} | {r['row']} | "
                     f"{r['p_md']:.4f} ± {r['p_md_se']:.4f} | "
                     f"{r['rmse_deg']:.3f} ± {r['rmse_deg_se']:.3f} | "
                     f"{r['ser_rho0']:.4f} ± {r['ser_rho0_se']:.4f} |")  # fmt: skip
    lines += ["", "Paired differences at ρ = 1 (same seed, same draws), mean ± 1 SE:", "",
              "| setting | test sector | row | vs | ΔP_md | RMSE ratio − 1 |",
              "|---|---|---|---|---|---|"]  # fmt: skip
    for d in diffs:
        lines.append(f"| {d['setting']} | {d['sector']} | {d['row']} | {d['vs']} | "
                     f"{d['d_p_md']:+.4f} ± {d['d_p_md_se']:.4f} | "
                     f"{100 * d['rmse_ratio_minus_1']:+.1f} % ± "
                     f"{100 * d['rmse_ratio_minus_1_se']:.1f} % |")  # fmt: skip
    return "\n".join(lines) + "\n"


def _aggregate_tradeoff(curves, setting, sector, label) -> IsacTradeoff:
    rows = [c for c in curves if (c["setting"], c["sector"], c["label"]) == (setting, sector,
                                                                              label)]  # fmt: skip
    col = {k: np.array([r[k] for r in rows]) for k in rows[0] if k not in ("setting", "sector",
                                                                           "label")}  # fmt: skip
    return IsacTradeoff(rho=col["rho"], p_md=col["p_md"], ser=col["ser"],
                        rmse=np.deg2rad(col["rmse_deg"]), threshold=float("nan"), p_fa=1e-2,
                        label=label, p_md_se=col["p_md_se"], ser_se=col["ser_se"],
                        rmse_se=np.deg2rad(col["rmse_deg_se"]))  # fmt: skip


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path("out"))
    parser.add_argument("--seeds", type=int, default=5, help="impairment seeds (>= 5)")
    parser.add_argument("--first-seed", type=int, default=1)
    parser.add_argument("--iterations", type=int, default=2000, help="Adam steps (paper: 50000)")
    parser.add_argument("--batch", type=int, default=500)
    parser.add_argument("--n-grid", type=int, default=156, help="grid size (paper: 500 or 156)")
    parser.add_argument("--samples", type=int, default=20_000, help="Monte Carlo draws per rho")
    parser.add_argument("--nn-iterations", type=int, default=500, help="Adam steps per NN step")
    parser.add_argument("--nn-lr", type=float, default=3e-3)
    parser.add_argument("--nn-omegas", type=float, nargs="*", default=[0.0, 0.1, 1.0],
                        help="autoencoder weights omega_r (none: no autoencoder)")  # fmt: skip
    parser.add_argument("--device", default="auto", help="torch device for the learning")
    parser.add_argument("--quick", action="store_true", help="tiny run (for the tests)")
    args = parser.parse_args(argv)
    args.rho = RHO
    if args.quick:
        args.rho = [0.0, 0.1, 1.0]
        args.seeds, args.iterations, args.batch, args.samples = 2, 10, 32, 300
        args.nn_iterations, args.nn_omegas = 3, [1.0]
    seeds = range(args.first_seed, args.first_seed + args.seeds)
    results = load_or_run(seeds, args)
    curves, table, diffs = summarise(results)
    write_csv_rows(args.out / "e2e_isac.csv", curves)
    write_csv_rows(args.out / "e2e_isac_table.csv", table)
    write_csv_rows(args.out / "e2e_isac_diffs.csv", diffs)
    text = markdown(table, diffs, len(results))
    write_atomic(args.out / "e2e_isac_table.md", text)
    print(text)

    cal = results[0]["calibration"]
    write_csv_rows(args.out / "e2e_calibration.csv", [
        {"seed": results[0]["seed"], "angle_deg": a, "corr_untrained": u, "corr_dictionary": d,
         "corr_positions": p}
        for a, u, d, p in zip(np.rad2deg(cal["grid"]), cal["untrained"], cal["dictionary"],
                              cal["positions"])
    ])  # fmt: skip

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    shown = ["LS baseline (hard)", "dictionary (soft)", "positions (hard)", "oracle (hard)",
             "NN (limited)"]  # fmt: skip
    panels = [(s, sec) for s, secs in results[0]["settings"].items() for sec in secs]
    fig, axes = plt.subplots(len(panels), 2, figsize=(10, 3.4 * len(panels)), squeeze=False)
    for (setting, sector), (ax_md, ax_rmse) in zip(panels, axes):
        labels = [lb for lb in shown if lb in results[0]["settings"][setting][sector]]
        for label, style in zip(labels, ("s--", "o-", "^-", "D:", "v-.")):
            t = _aggregate_tradeoff(curves, setting, sector, label)
            kw = dict(marker=style[0], linestyle=style[1:], annotate=label == labels[0])
            plot_isac_tradeoff(t, ax_md, metric="p_md", **kw)
            plot_isac_tradeoff(t, ax_rmse, metric="rmse_deg", **kw)
        train = SETTINGS[setting]["mean_deg"]
        ax_md.set_title(f"trained on centres {train} deg, target in [{sector}] deg "
                        f"({len(results)} seeds, ±1 SE)", fontsize=8)  # fmt: skip
        ax_md.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(args.out / "e2e_isac.png", dpi=120)

    fig, ax = plt.subplots(figsize=(6.5, 3.6))
    plot_dictionary_correlation(cal["grid"], {
        "untrained (ideal dictionary)": cal["untrained"], "learned dictionary": cal["dictionary"],
        "learned positions": cal["positions"]}, ax)  # fmt: skip
    ax.axvspan(-70, 70, color="0.9", zorder=0, label="trained sectors")
    ax.set_title(f"impairment seed {results[0]['seed']}, trained on centres U[-60, 60] deg",
                 fontsize=8)  # fmt: skip
    ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(args.out / "e2e_calibration.png", dpi=120)
    plt.close("all")


if __name__ == "__main__":
    main()
