"""The Jensen gap of plug-in precoding, measured with exact posteriors.

An OFDM MIMO channel is drawn from a multi-modal Gaussian-mixture prior
(user positions with two specular paths of unknown phases plus diffuse
scattering; 64 components by default), observed through comb pilots on every
other subcarrier, and precoded by

* perfect CSI (SVD of the true channel; the upper bound),
* the manifold precoder (maximises the sample-average SE over 64 posterior draws),
* the expected-Gramian precoder with 1, 4, 16 and 64 posterior draws, and with
  the exact posterior Gramian,
* the CME/SVD precoder (plug-in of the exact posterior mean), and
* pilot-free precoding (dominant eigenvectors of the exact prior Gramian).

As the pilots become less informative, the plug-in CME precoder falls below
even pilot-free precoding, while precoders that average over the posterior
degrade gracefully towards it: the seed paper's Section VII-C (Fig. 8), with
exact posteriors in place of a diffusion model.

Run ``python examples/jensen_gap.py --out out`` (a few minutes on two cores),
``--sweep entries`` to vary the number of observed channel entries instead of
the pilot SNR, and ``--snr-db 10`` to see the energy surrogate part from the
SE at higher downlink SNR. ``--quick`` is a seconds-long smoke run.
"""

from __future__ import annotations

import argparse
import csv
from pathlib import Path

import numpy as np

import beamopt

EG_SAMPLES = (1, 4, 16, 64)
METHODS = (
    "perfect_csi",
    "manifold",
    *(f"eg_{n}" for n in EG_SAMPLES),
    "eg_exact",
    "cme",
    "pilot_free",
)
LABELS = {
    "perfect_csi": "perfect CSI",
    "manifold": "manifold (64 samples)",
    **{f"eg_{n}": f"expected Gramian, {n} sample{'s' * (n > 1)}" for n in EG_SAMPLES},
    "eg_exact": "expected Gramian, exact",
    "cme": "CME / SVD (plug-in)",
    "pilot_free": "pilot-free (prior Gramian)",
}


def cluster_covariance(n: int, centres, spread: float) -> np.ndarray:
    """Spatial covariance of clusters of paths around ``centres`` (radians), trace ``n``."""
    offsets = np.linspace(-spread, spread, 9)
    a = beamopt.steering_vector(n, np.add.outer(np.atleast_1d(centres), offsets).ravel())
    R = a.T @ a.conj() / a.shape[0]
    return n * R / np.trace(R).real


def frequency_covariance(n_subcarriers: int, rho: float, delay: float) -> np.ndarray:
    """AR(1) correlation across subcarriers with a delay-dependent phase ramp, unit diagonal."""
    k = np.arange(n_subcarriers)
    lag = k[:, None] - k[None, :]
    return rho ** np.abs(lag) * np.exp(-2j * np.pi * delay * lag)


def mixture_prior(n_subcarriers, n_rx, n_tx, n_positions, n_phases, k_factor, rng):
    """Weights, means, covariances and channel shape of a two-path Gaussian-mixture prior.

    Every user position has two specular paths (departure angle, arrival angle,
    delay; amplitudes 1 and 0.8) carrying a fraction ``K/(K+1)`` of the power,
    plus diffuse Kronecker scattering ``CN(0, R_f ⊗ R_rx ⊗ R_tx / (K+1))``
    (row-major over ``(subcarrier, rx, tx)``) around the same angles. The path
    phases are unknown and take one of ``n_phases`` values each, so the prior
    has ``n_positions * n_phases**2`` equally likely components. Weak pilots
    cannot resolve the relative phase of the two paths: the CME averages those
    hypotheses and washes the weaker path out, while the expected Gramian,
    being phase-invariant, keeps it.
    """
    shape = (n_subcarriers, n_rx, n_tx)
    gains = np.array([1.0, 0.8]) / np.hypot(1.0, 0.8)
    phases = np.exp(2j * np.pi * np.arange(n_phases) / n_phases)
    k = np.arange(n_subcarriers)
    means, covs = [], []
    for _ in range(n_positions):
        tx_angle = rng.uniform(-np.pi / 3, np.pi / 3, 2)
        rx_angle = rng.uniform(-np.pi / 2, np.pi / 2, 2)
        delay = rng.uniform(0.0, 0.3, 2)
        paths = [
            gains[p]
            * np.exp(-2j * np.pi * delay[p] * k)[:, None, None]
            * np.outer(
                beamopt.steering_vector(n_rx, rx_angle[p]),
                beamopt.steering_vector(n_tx, tx_angle[p]).conj(),
            )
            for p in range(2)
        ]
        C = np.kron(
            frequency_covariance(n_subcarriers, 0.9, delay.mean()),
            np.kron(
                cluster_covariance(n_rx, rx_angle, np.deg2rad(10.0)),
                cluster_covariance(n_tx, tx_angle, np.deg2rad(5.0)),
            ),
        ) / (1.0 + k_factor)
        for p0 in phases:
            for p1 in phases:
                means.append(np.sqrt(k_factor / (1.0 + k_factor)) * (p0 * paths[0] + p1 * paths[1]))
                covs.append(C)
    n_components = len(means)
    weights = np.full(n_components, 1.0 / n_components)
    return weights, np.stack(means), np.stack(covs), shape


def _per_subcarrier_se(H, F, snr):
    """SE of precoders F (n_trials, n_sc, n_tx, n_s) on channels H (n_trials, n_sc, n_rx, n_tx)."""
    n_trials, n_sc = H.shape[:2]
    flat_H = H.reshape(1, n_trials * n_sc, *H.shape[2:])  # one "sample" per (trial, sc)
    flat_F = F.reshape(n_trials * n_sc, *F.shape[2:])
    se = beamopt.spectral_efficiency(flat_H, flat_F, snr).reshape(n_trials, n_sc)
    return se.mean(axis=1)


def evaluate_point(prior, observation, H_true, n_streams, snr, rng, progress=None):
    """Spectral efficiency (n_trials,) of every method at one pilot configuration."""
    weights, means, covs, _ = prior
    post = beamopt.GaussianMixturePosterior(weights, means, covs, observation)
    n_trials, n_sc, _, n_tx = H_true.shape
    Y = observation.observe(H_true, seed=rng)

    def batched(F_of, X):
        return F_of(X.reshape(n_trials * n_sc, *X.shape[2:]), n_streams).F.reshape(
            n_trials, n_sc, n_tx, n_streams
        )

    F = {
        "perfect_csi": batched(beamopt.cme_precoder, H_true),
        "cme": batched(beamopt.cme_precoder, post.mean(Y)),
        "eg_exact": batched(beamopt.gramian_precoder, post.expected_gramian(Y)),
    }
    for name in ("manifold", *(f"eg_{n}" for n in EG_SAMPLES)):
        F[name] = np.empty((n_trials, n_sc, n_tx, n_streams), complex)
    for t in range(n_trials):
        draws = post.sample(Y[t], max(EG_SAMPLES), seed=rng)  # (n_samples, n_sc, n_rx, n_tx)
        for n in EG_SAMPLES:
            F[f"eg_{n}"][t] = beamopt.expected_gramian_precoder(draws[:n], n_streams).F
        F["manifold"][t] = beamopt.manifold_precoder(draws, n_streams, snr).F
        if progress is not None:
            progress.update(1)
    return {name: _per_subcarrier_se(H_true, F[name], snr) for name in F}


def pilot_free_precoder(prior, n_streams):
    """Dominant eigenvectors of the exact prior Gramian (no pilots observed)."""
    weights, means, covs, shape = prior
    no_pilots = beamopt.LinearObservation.from_mask(np.zeros(shape[0], bool), shape, 1.0)
    G = beamopt.GaussianMixturePosterior(weights, means, covs, no_pilots).expected_gramian(
        np.zeros(0)
    )
    return beamopt.gramian_precoder(G, n_streams).F


def _sem(x) -> float:
    return float(np.std(x, ddof=1) / np.sqrt(x.size))


def run(args) -> list[dict]:
    """Run the sweep; return one row per (sweep value, method)."""
    from tqdm import tqdm

    rng = np.random.default_rng(args.seed)
    prior = mixture_prior(
        args.n_subcarriers,
        args.n_rx,
        args.n_tx,
        args.n_positions,
        args.n_phases,
        beamopt.db_to_linear(args.k_factor_db),
        rng,
    )
    weights, means, covs, shape = prior
    H_true = beamopt.GaussianMixturePosterior(
        weights, means, covs, beamopt.LinearObservation(np.zeros((0, np.prod(shape))), shape, 1.0)
    ).sample_prior(args.n_trials, seed=rng)
    snr = beamopt.db_to_linear(args.snr_db)
    F_free = pilot_free_precoder(prior, args.n_streams)
    se_free = _per_subcarrier_se(
        H_true, np.broadcast_to(F_free, (args.n_trials, *F_free.shape)), snr
    )
    if args.sweep == "snr":
        values = args.pilot_snr_db
        comb = beamopt.comb_mask(args.n_subcarriers, args.comb_spacing)
    else:
        values = args.entries
        order = rng.permutation(int(np.prod(shape)))
    rows = []
    with tqdm(total=len(values) * args.n_trials, disable=args.no_progress, unit="trial") as bar:
        for value in values:
            if args.sweep == "snr":
                noise_var = 1.0 / beamopt.db_to_linear(value)
                obs = beamopt.LinearObservation.from_mask(comb, shape, noise_var)
            else:
                mask = np.zeros(int(np.prod(shape)), bool)
                mask[order[: int(value)]] = True
                noise_var = 1.0 / beamopt.db_to_linear(args.entries_pilot_snr_db)
                obs = beamopt.LinearObservation.from_mask(mask.reshape(shape), shape, noise_var)
            se = evaluate_point(prior, obs, H_true, args.n_streams, snr, rng, bar)
            se["pilot_free"] = se_free
            for name in METHODS:
                rows.append(
                    {
                        "sweep": args.sweep,
                        "value": float(value),
                        "method": name,
                        "se_mean": float(np.mean(se[name])),
                        "se_sem": _sem(se[name]),
                        # Paired over the same channels and pilots, hence much tighter.
                        "gain_over_cme": float(np.mean(se[name] - se["cme"])),
                        "gain_over_cme_sem": _sem(se[name] - se["cme"]),
                        "n_trials": int(se[name].size),
                    }
                )
    return rows


# Each method its own colour, line style and hollow marker: several curves lie within a
# fraction of a bit/s/Hz of each other and must stay visible under one another.
_STYLES = {
    "perfect_csi": dict(color="k", ls="--", lw=1.2),
    "manifold": dict(color="tab:green", lw=2.5, marker="o", ms=8),
    "eg_exact": dict(color="tab:blue", ls=":", lw=2, marker="x", ms=7),
    "cme": dict(color="tab:red", lw=1.8, marker="s", ms=7),
    "pilot_free": dict(color="0.5", ls="-."),
    **{
        f"eg_{n}": dict(color=c, ls=ls, marker=m, ms=6)
        for n, c, ls, m in zip(
            EG_SAMPLES,
            ["#9ecae1", "#6baed6", "#2171b5", "#08306b"],
            ["-", "--", "-.", (0, (5, 1))],
            ["v", "^", "<", ">"],
        )
    },
}
_HOLLOW = {"markerfacecolor": "none", "markeredgewidth": 1.3}


def _decorate(ax, rows, ylabel):
    if rows[0]["sweep"] == "entries":
        ax.set_xscale("log", base=2)
    ax.set_xlabel("pilot SNR (dB)" if rows[0]["sweep"] == "snr" else "observed channel entries")
    ax.set_ylabel(ylabel)
    ax.grid(alpha=0.3)


def plot_jensen_gap(rows, ax=None):
    """Mean spectral efficiency of every method against pilot informativeness; returns the Axes."""
    import matplotlib.pyplot as plt

    if ax is None:
        _, ax = plt.subplots(figsize=(7.5, 4.8))
    for name in METHODS:
        sel = [r for r in rows if r["method"] == name]
        ax.plot(
            [r["value"] for r in sel],
            [r["se_mean"] for r in sel],
            label=LABELS[name],
            **_STYLES[name],
            **_HOLLOW,
        )
    _decorate(ax, rows, "spectral efficiency (bit/s/Hz)")
    ax.set_title("Jensen gap of plug-in precoding (exact GMM posteriors)")
    ax.legend(fontsize=8, loc="lower right")
    return ax


def plot_gain_over_cme(rows, ax=None):
    """Paired SE gain of every method over the CME precoder, with standard errors."""
    import matplotlib.pyplot as plt

    if ax is None:
        _, ax = plt.subplots(figsize=(7.5, 4.8))
    for name in METHODS:
        if name in ("cme", "perfect_csi"):
            continue
        sel = [r for r in rows if r["method"] == name]
        ax.errorbar(
            [r["value"] for r in sel],
            [r["gain_over_cme"] for r in sel],
            yerr=[r["gain_over_cme_sem"] for r in sel],
            capsize=2,
            label=LABELS[name],
            **_STYLES[name],
            **_HOLLOW,
        )
    ax.axhline(0.0, color="tab:red", lw=1.5)
    _decorate(ax, rows, "SE gain over CME / SVD (bit/s/Hz)")
    ax.set_title("paired gain over plug-in precoding (±1 s.e.)")
    ax.legend(fontsize=8)
    return ax


def summary(rows) -> str:
    """A text table: one line per sweep value, one column per method."""
    values = sorted({r["value"] for r in rows})
    head = f"{'value':>8} " + " ".join(f"{m:>11}" for m in METHODS)
    lines = [head]
    for v in values:
        by = {r["method"]: r["se_mean"] for r in rows if r["value"] == v}
        lines.append(f"{v:>8g} " + " ".join(f"{by[m]:>11.3f}" for m in METHODS))
    return "\n".join(lines)


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--out", type=Path, default=Path("out"), help="output directory")
    p.add_argument("--sweep", choices=("snr", "entries"), default="snr")
    p.add_argument(
        "--pilot-snr-db",
        type=float,
        nargs="+",
        default=[-30, -25, -20, -15, -10, -5, 0, 10],
        help="pilot SNRs (snr sweep)",
    )
    p.add_argument(
        "--entries-pilot-snr-db", type=float, default=-5.0, help="pilot SNR of the entries sweep"
    )
    p.add_argument(
        "--entries",
        type=int,
        nargs="+",
        default=[1, 2, 4, 8, 16, 32, 64],
        help="numbers of observed channel entries (entries sweep)",
    )
    p.add_argument(
        "--comb-spacing", type=int, default=2, help="pilot comb spacing over subcarriers"
    )
    p.add_argument("--snr-db", type=float, default=0.0, help="downlink transmit SNR")
    p.add_argument("--n-trials", type=int, default=200)
    p.add_argument("--n-subcarriers", type=int, default=4)
    p.add_argument("--n-rx", type=int, default=2)
    p.add_argument("--n-tx", type=int, default=8)
    p.add_argument("--n-streams", type=int, default=2)
    p.add_argument("--n-positions", type=int, default=4, help="user positions in the prior")
    p.add_argument("--n-phases", type=int, default=4, help="phase hypotheses per path")
    p.add_argument("--k-factor-db", type=float, default=10.0, help="specular-to-diffuse ratio")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--quick", action="store_true", help="tiny smoke run (a few seconds)")
    p.add_argument("--no-progress", action="store_true", help="hide the progress bar")
    args = p.parse_args(argv)
    if args.quick:
        args.n_trials = 3
        args.pilot_snr_db = [-10.0, 10.0]
        args.entries = [4, 32]
        args.n_positions, args.n_phases = 2, 2
    return args


def main(argv=None) -> list[dict]:
    args = parse_args(argv)
    import matplotlib.pyplot as plt

    rows = run(args)
    args.out.mkdir(parents=True, exist_ok=True)
    stem = f"jensen_gap_{args.sweep}"
    with (args.out / f"{stem}.csv").open("w", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    fig, (ax_se, ax_gain) = plt.subplots(1, 2, figsize=(14, 5))
    plot_jensen_gap(rows, ax=ax_se)
    plot_gain_over_cme(rows, ax=ax_gain)
    fig.tight_layout()
    fig.savefig(args.out / f"{stem}.png", dpi=150)
    plt.close(fig)
    print(summary(rows))
    print(f"wrote {args.out / stem}.csv and .png")
    return rows


if __name__ == "__main__":
    main()
