r"""Scoring ISAC: learned KLD and BCRB vs their analytic values on the near-field ULA.

Fig. 5 analogue: learned vs analytic detection KLD $K\|H_s x\|^2/\sigma^2$ and $P_d$ ($\gamma=1$).
Fig. 6 analogue: learned KLD vs Monte Carlo $P_d$ for a Swerling I target ($\gamma\sim$Exp(1),
eq. (108): independent $\gamma$ per snapshot), $P_{fa} = 0.1$, with a quadrature reference.
Fig. 7 analogue: learned (ISM prior score) vs analytic BCRB and the CRB over transmit power,
$\gamma = 1$ ($\theta = r$) and Swerling ($\theta = (r, \log\gamma)$, $\gamma$ a nuisance).
Beyond: the transmit covariance minimising the learned BCRB vs the analytic-prior optimum.

    python examples/scoring_isac.py --out out/   # CPU, a few minutes
    python examples/scoring_isac.py --quick      # seconds (tests)
"""

from __future__ import annotations

import argparse
from dataclasses import replace
from pathlib import Path

import numpy as np

from beamopt._io import write_csv_rows
from beamopt.metrics.design import data_fim_operator, fim_of_covariance, minimize_bcrb_trace
from beamopt.metrics.fim import bayesian_fim, bcrb, expected_fim, fisher_from_scores, gaussian_fim
from beamopt.metrics.information import kl_divergence
from beamopt.metrics.nearfield import (
    NearFieldArray,
    detection_probability,
    swerling_kld_per_snapshot,
)
from beamopt.metrics.score_matching import DEFAULT_CONFIG, train_parameter_score
from beamopt.units import dbm_to_watt

K, NOISE_DBM, TARGET, PRIOR_VAR, P_FA = 4, -60.0, np.array([20.0, 20.0]), 5.0, 0.1


def detection(arr, powers_dbm, quick, rng):
    """Figs. 5-6: KLD (learned vs exact/quadrature) and P_d on the matched statistic."""
    s2 = dbm_to_watt(NOISE_DBM)
    h_norm2 = np.array(
        [
            np.linalg.norm(arr.channel(TARGET) @ arr.beam(TARGET, dbm_to_watt(p))) ** 2
            for p in powers_dbm
        ]
    )
    rho = np.sqrt(2 * h_norm2 / s2)  # u = sqrt2 Re{h^H y}/(|h| sigma) ~ N(gamma rho, 1)
    n_train = 600 if quick else 4000
    config = replace(DEFAULT_CONFIG, n_iterations=150 if quick else 2500, width=64)
    rows = []
    models = {}
    for case in ("gamma1", "swerling"):
        levels = np.concatenate([[0.0], rho])
        cond = np.repeat(levels, n_train)
        g = np.ones_like(cond) if case == "gamma1" else rng.exponential(1.0, cond.size)
        u = g * cond + rng.standard_normal(cond.size)
        models[case] = train_parameter_score(
            u, conditions=cond, objective="dsm", config=config, seed=1
        )
    n_eval = 1000 if quick else 20000
    for p, r, hn2 in zip(powers_dbm, rho, h_norm2, strict=True):
        u0 = rng.standard_normal(n_eval)
        row = {
            "p_t_dbm": p,
            "kld_analytic_gamma1": K * hn2 / s2,
            "pd_analytic_gamma1": float(detection_probability(K * hn2 / s2, P_FA)),
        }
        for case, m in models.items():
            est = kl_divergence(
                u0,
                lambda x, s, m=m: m.smoothed_score(x, s, [[0.0]]),
                lambda x, s, m=m, r=r: m.smoothed_score(x, s, [[r]]),
                sigma_min=1e-2,
                sigma_max=1e2,
                n_levels=4,
                seed=rng,
            )
            row[f"kld_learned_{case}"] = K * est.value
            row[f"kld_learned_{case}_se"] = K * est.stderr
        row["kld_quadrature_swerling"] = K * swerling_kld_per_snapshot(r)
        # Monte Carlo P_d of the gamma=1-optimal detector sum_k u_k against a Swerling target
        n_mc = 2000 if quick else 200_000
        thr = np.sqrt(K) * 1.2815515655446004  # Q^{-1}(0.1) for N(0, K)
        stat = (rng.exponential(1.0, (n_mc, K)) * r + rng.standard_normal((n_mc, K))).sum(1)
        row["pd_mc_swerling"] = float(np.mean(stat > thr))
        row["pfa_mc"] = float(np.mean(rng.standard_normal((n_mc, K)).sum(1) > thr))
        rows.append(row)
    return rows


def localisation(arr, powers_dbm, quick, rng):
    """Fig. 7 and the design: learned vs analytic BCRB and CRB over transmit power."""
    s2 = dbm_to_watt(NOISE_DBM)
    M = 400 if quick else 4000
    r = TARGET + np.sqrt(PRIOR_VAR) * rng.standard_normal((M, 2))
    gam = rng.exponential(1.0, M)
    theta_sw = np.column_stack([r, np.log(gam)])
    config = replace(DEFAULT_CONFIG, n_iterations=150 if quick else 2000)
    learned = {
        "gamma1": train_parameter_score(r, objective="ism", config=config, seed=2),
        "swerling": train_parameter_score(theta_sw, objective="ism", config=config, seed=3),
    }
    exact_prior = {
        "gamma1": -(r - TARGET) / PRIOR_VAR,
        "swerling": np.column_stack([-(r - TARGET) / PRIOR_VAR, 1.0 - gam]),
    }
    thetas = {"gamma1": r, "swerling": theta_sw}
    rows = []
    for p in powers_dbm:
        x = arr.beam(TARGET, dbm_to_watt(p))
        row = {"p_t_dbm": p}
        for case in ("gamma1", "swerling"):
            if case == "gamma1":
                F = arr.echo_jacobian(r, x)
            else:
                F = arr.echo_jacobian(r, x, gamma=gam, log_gamma=True)
            Jd = expected_fim(gaussian_fim(F, s2, K))
            keep = [0, 1]
            for kind, scores in (
                ("analytic", exact_prior[case]),
                ("learned", learned[case].score(thetas[case])),
            ):
                b = bcrb(bayesian_fim(fisher_from_scores(scores), Jd), keep)
                row[f"bcrb_{kind}_{case}"] = b.trace
                row[f"bcrb_{kind}_{case}_se"] = b.trace_stderr
            c = bcrb(Jd, keep)
            row[f"crb_{case}"] = c.trace
            row[f"crb_{case}_se"] = c.trace_stderr
        rows.append(row)
    # design at the lowest power, gamma = 1: learned vs exact prior FIM
    P = dbm_to_watt(powers_dbm[0])
    D = data_fim_operator(arr.channel_derivatives(r[: 100 if quick else 400]), s2, K)
    Jp_learned = fisher_from_scores(learned["gamma1"].score(r)).matrix
    Jp_exact = np.eye(2) / PRIOR_VAR
    d_learned = minimize_bcrb_trace(Jp_learned, D, P)
    d_exact = minimize_bcrb_trace(Jp_exact, D, P)
    beam = arr.beam(TARGET, P)

    def true_tr(R):
        return float(np.trace(np.linalg.inv(Jp_exact + fim_of_covariance(D, R))))

    design = [
        {
            "design": "beam on dominant singular vector",
            "tr_bcrb_exact_prior": true_tr(np.outer(beam, beam.conj())),
            "objective_value": float("nan"),
        },
        {
            "design": "isotropic P/N I",
            "tr_bcrb_exact_prior": true_tr(np.eye(arr.n_antennas) * P / arr.n_antennas),
            "objective_value": float("nan"),
        },
        {
            "design": "min learned BCRB",
            "tr_bcrb_exact_prior": true_tr(d_learned.covariance),
            "objective_value": d_learned.bcrb_trace,
        },
        {
            "design": "min analytic BCRB",
            "tr_bcrb_exact_prior": true_tr(d_exact.covariance),
            "objective_value": d_exact.bcrb_trace,
        },
    ]
    return rows, design


def _joint_legend(ax, twin):
    """One legend for the curves of an Axes and of its twin (right-hand axis)."""
    lines, labels = ax.get_legend_handles_labels()
    more, more_labels = twin.get_legend_handles_labels()
    ax.legend(lines + more, labels + [f"{t} (right axis)" for t in more_labels], loc="upper left")


def plot(det, loc, out):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(1, 4, figsize=(18, 4))
    p = [r["p_t_dbm"] for r in det]
    ax[0].plot(p, [r["kld_analytic_gamma1"] for r in det], "k-", label="analytic (106)")
    ax[0].errorbar(
        p,
        [r["kld_learned_gamma1"] for r in det],
        yerr=[2 * r["kld_learned_gamma1_se"] for r in det],
        fmt="o",
        label="learned DSM",
    )
    ax2 = ax[0].twinx()
    ax2.plot(p, [r["pd_analytic_gamma1"] for r in det], "g--", label="$P_d$")
    ax2.set_ylabel("$P_d$ ($P_{fa}=0.1$)")
    ax[0].set(xlabel="$P_t$ [dBm]", ylabel="KLD [nats]", yscale="log", title="Fig. 5: $\\gamma=1$")
    _joint_legend(ax[0], ax2)
    ax[1].plot(p, [r["kld_quadrature_swerling"] for r in det], "k-", label="quadrature")
    ax[1].errorbar(
        p,
        [r["kld_learned_swerling"] for r in det],
        yerr=[2 * r["kld_learned_swerling_se"] for r in det],
        fmt="s",
        label="learned",
    )
    ax3 = ax[1].twinx()
    ax3.plot(p, [r["pd_mc_swerling"] for r in det], "g--", label="$P_d$ (MC)")
    ax3.set_ylabel("$P_d$ (Monte Carlo)")
    ax[1].set(
        xlabel="$P_t$ [dBm]",
        ylabel="KLD [nats]",
        yscale="log",
        title="Fig. 6: $\\gamma\\sim$Exp(1)",
    )
    _joint_legend(ax[1], ax3)
    for i, case in ((2, "gamma1"), (3, "swerling")):
        q = [r["p_t_dbm"] for r in loc]
        ax[i].plot(q, [r[f"bcrb_analytic_{case}"] for r in loc], "k-", label="analytic BCRB")
        ax[i].plot(q, [r[f"bcrb_learned_{case}"] for r in loc], "o", label="learned BCRB (ISM)")
        ax[i].plot(q, [r[f"crb_{case}"] for r in loc], "r--", label="CRB")
        ax[i].set(
            xlabel="$P_t$ [dBm]",
            ylabel="tr bound [m$^2$]",
            yscale="log",
            title="Fig. 7: " + ("$\\gamma=1$" if case == "gamma1" else "Swerling"),
        )
        ax[i].legend()
    fig.tight_layout()
    fig.savefig(out / "scoring_isac.png", dpi=110)
    plt.close(fig)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", default="out")
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args(argv)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(args.seed)
    arr = NearFieldArray()
    det_p = np.linspace(20, 40, 3 if args.quick else 6)
    loc_p = np.linspace(-10, 30, 3 if args.quick else 6)
    det = detection(arr, det_p, args.quick, rng)
    loc, design = localisation(arr, loc_p, args.quick, rng)
    write_csv_rows(out / "scoring_isac_detection.csv", det)
    write_csv_rows(out / "scoring_isac_localisation.csv", loc)
    write_csv_rows(out / "scoring_isac_design.csv", design)
    plot(det, loc, out)
    for name, rows in (("detection", det), ("localisation", loc), ("design", design)):
        print(name)
        for row in rows:
            print(
                "  "
                + ", ".join(
                    f"{k}={v:.4g}" if isinstance(v, float) else f"{k}={v}" for k, v in row.items()
                )
            )


if __name__ == "__main__":
    main()
