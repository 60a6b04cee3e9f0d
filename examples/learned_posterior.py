"""A learned score model as a channel prior: its posteriors against the exact ones.

A 2 x 4 MIMO channel is drawn from a two-component Gaussian-mixture prior (two
scattering clusters at different angles, weights 0.3 / 0.7), so every posterior is
known exactly (`beamopt.GaussianMixturePosterior`). The pilots are `y = H P + N`
with two pilot columns for four transmit antennas. For each pilot SNR a small
observation-conditioned MLP score model is trained on (channel, pilot) pairs
(`beamopt.score.train_score_model`, CPU, under a minute each; the null token
gives the unconditional score too), and the script compares three posterior
samplers on the same channels and pilots,

* ``exact``: draws from the exact posterior (the Monte Carlo floor of every error),
* ``exact_score``: the same diffusion sampler (`ConditionalSampler`, DDIM) with the
  exact conditional score (isolates the discretisation error from the training error),
* ``learned``: that sampler with the trained network,

by the error of the sample mean (normalised by the prior power), the relative
Frobenius error of the sample covariance, the weight of the first mode, and the
spectral efficiency on the true channel of the expected-Gramian and manifold
precoders built from the draws.

Run ``python examples/learned_posterior.py --out out`` (a few minutes on two
cores); ``--quick`` is a smoke run of a few seconds.
"""

from __future__ import annotations

import argparse
import csv
import io
from pathlib import Path

import numpy as np

import beamopt

SAMPLERS = ("exact", "exact_score", "learned")
LABELS = {
    "exact": "exact posterior",
    "exact_score": "diffusion, exact score",
    "learned": "diffusion, learned score",
}
STYLES = {
    "exact": dict(marker="o", linestyle="-", color="C0"),
    "exact_score": dict(marker="s", linestyle="--", color="C1"),
    "learned": dict(marker="^", linestyle=":", color="C2"),
}


def _steering(n: int, angle: float) -> np.ndarray:
    return np.exp(1j * np.pi * np.arange(n) * np.sin(angle)) / np.sqrt(n)


def _cluster_cov(n: int, centre: float, spread: float) -> np.ndarray:
    a = np.stack([_steering(n, centre + d) for d in np.linspace(-spread, spread, 7)])
    R = a.T @ a.conj() / len(a)
    return R / np.trace(R).real * n


def mixture_prior(n_rx: int, n_tx: int, k_factor: float = 3.0):
    """Two clusters: (weights, means, covariances) of vec(H) for H of shape (n_rx, n_tx)."""
    weights = np.array([0.3, 0.7])
    means, covs = [], []
    for rx, tx in ((-0.5, -0.6), (0.4, 0.5)):
        los = np.outer(_steering(n_rx, rx), _steering(n_tx, tx)) * np.sqrt(n_rx * n_tx)
        means.append(np.sqrt(k_factor / (1 + k_factor)) * los)
        C = np.kron(_cluster_cov(n_rx, rx, 0.2), _cluster_cov(n_tx, tx, 0.15))
        covs.append((C + 0.05 * np.eye(n_rx * n_tx)) / (1 + k_factor) / 1.05)
    return weights, np.stack(means), np.stack(covs)


def pilot_observation(n_rx: int, n_tx: int, n_pilots: int, noise_var: float):
    """y = vec(H P) + n with orthonormal DFT pilot columns P (n_tx, n_pilots)."""
    P = np.fft.fft(np.eye(n_tx))[:, :n_pilots] / np.sqrt(n_tx)
    A = np.kron(np.eye(n_rx), P.T)  # row-major vec(H P) = (I kron P^T) vec(H)
    return beamopt.LinearObservation(A, (n_rx, n_tx), noise_var)


def _moments(S):
    f = S.reshape(len(S), -1)
    m = f.mean(0)
    d = f - m
    return m, d.T @ d.conj() / len(f)


def _labels(post, S, y):
    f = S.reshape(len(S), -1)
    logs = []
    for c in post.components:
        d = f - c.mean(y).reshape(-1)
        C = c.covariance + 1e-9 * np.eye(len(c.covariance))
        logs.append(-np.sum(d.conj() * np.linalg.solve(C, d.T).T, 1).real - np.linalg.slogdet(C)[1])
    return np.argmax(np.stack(logs, 1), 1)


def train(args, prior, obs, seed):
    """A conditional score model trained on (channel, pilot) pairs of one pilot model."""
    from beamopt.score import ScoreConfig, train_score_model

    weights, means, covs = prior
    post = beamopt.GaussianMixturePosterior(weights, means, covs, obs)
    channels = post.sample_prior(args.n_train, seed=seed)
    pilots = obs.observe(channels, seed=seed + 1)
    config = ScoreConfig(
        network="mlp",
        width=args.width,
        n_iterations=args.iterations,
        batch_size=256,
        lr=2e-3,
        device=args.device,
    )
    return train_score_model(
        channels, observations=pilots, config=config, seed=seed, progress=not args.no_progress
    )


def run(args) -> list[dict]:
    from beamopt.score import ConditionalSampler, GaussianMixtureDenoiser

    prior = mixture_prior(args.n_rx, args.n_tx)
    weights, means, covs = prior
    power = float(np.sum(weights * np.trace(covs, axis1=1, axis2=2).real)) + float(
        np.sum(weights * np.sum(np.abs(means) ** 2, axis=(1, 2)))
    )
    per_entry = power / (args.n_rx * args.n_tx)
    snr_dl = 10 ** (args.snr_db / 10)
    # The same channels, noise shapes and sampler seeds at every pilot SNR, so that the
    # curves differ by the SNR only.
    channels = beamopt.GaussianMixturePosterior(
        weights, means, covs, pilot_observation(args.n_rx, args.n_tx, 1, 1.0)
    ).sample_prior(args.n_trials, seed=args.seed + 1)
    seeds = np.random.default_rng(args.seed + 2).integers(2**31, size=(args.n_trials, 2))
    rows = []
    for i, snr_db in enumerate(args.pilot_snr_db):
        obs = pilot_observation(
            args.n_rx, args.n_tx, args.n_pilots, per_entry / 10 ** (snr_db / 10)
        )
        post = beamopt.GaussianMixturePosterior(weights, means, covs, obs)
        model = train(args, prior, obs, args.seed + 10 * i)
        diffusion = dict(n_steps=args.n_steps, method="ddim")
        samplers = {
            "exact": post,
            "exact_score": ConditionalSampler(
                GaussianMixtureDenoiser.from_posterior(post), **diffusion
            ),
            "learned": ConditionalSampler(model, **diffusion),
        }
        acc = {k: {"mean": [], "cov": [], "w0": [], "eg": [], "mf": []} for k in SAMPLERS}
        w_exact = []
        for H, (noise_seed, seed) in zip(channels, seeds, strict=True):
            y = obs.observe(H, seed=int(noise_seed))
            m_ex = post.mean(y).reshape(-1)
            C_ex = post.covariance(y)
            w_exact.append(post.posterior_weights(y)[0])
            for name, sampler in samplers.items():
                S = sampler.sample(y, args.n_samples, seed=int(seed))
                m, C = _moments(S)
                a = acc[name]
                a["mean"].append(np.sum(np.abs(m - m_ex) ** 2) / power)
                a["cov"].append(np.linalg.norm(C - C_ex) / np.linalg.norm(C_ex))
                a["w0"].append(np.mean(_labels(post, S, y) == 0))
                draws = S[: args.n_precoder_samples]  # (n_samples, n_rx, n_tx): no glue
                F_eg = beamopt.expected_gramian_precoder(draws, args.n_streams).F
                F_mf = beamopt.manifold_precoder(draws, args.n_streams, snr_dl).F
                a["eg"].append(beamopt.spectral_efficiency(H[None], F_eg, snr_dl)[0])
                a["mf"].append(beamopt.spectral_efficiency(H[None], F_mf, snr_dl)[0])
        for name in SAMPLERS:
            a = acc[name]
            rows.append(
                {
                    "pilot_snr_db": snr_db,
                    "sampler": name,
                    "mean_error": float(np.mean(a["mean"])),
                    "cov_error": float(np.mean(a["cov"])),
                    "mode0_weight": float(np.mean(a["w0"])),
                    "mode0_weight_exact": float(np.mean(w_exact)),
                    "se_expected_gramian": float(np.mean(a["eg"])),
                    "se_manifold": float(np.mean(a["mf"])),
                    "n_trials": args.n_trials,
                    "n_samples": args.n_samples,
                    "n_steps": args.n_steps,
                    "train_iterations": args.iterations,
                }
            )
    return rows


def summary(rows) -> str:
    head = (
        f"{'pilot SNR':>9} {'sampler':<18} {'mean err':>9} {'cov err':>8} {'mode-1 w':>9} "
        f"{'exact w':>8} {'SE EG':>7} {'SE manif':>8}"
    )
    lines = [head]
    for r in rows:
        lines.append(
            f"{r['pilot_snr_db']:>9.0f} {r['sampler']:<18} {r['mean_error']:>9.4f} "
            f"{r['cov_error']:>8.3f} {r['mode0_weight']:>9.3f} {r['mode0_weight_exact']:>8.3f} "
            f"{r['se_expected_gramian']:>7.3f} {r['se_manifold']:>8.3f}"
        )
    return "\n".join(lines)


def plot(rows, axes):
    panels = [
        ("mean_error", "sample-mean error / prior power"),
        ("cov_error", "relative covariance error"),
        ("mode0_weight", "weight of mode 1"),
    ]
    snrs = sorted({r["pilot_snr_db"] for r in rows})
    by = {(r["sampler"], r["pilot_snr_db"]): r for r in rows}
    for ax, (key, label) in zip(axes.ravel(), panels, strict=False):
        for name in SAMPLERS:
            ax.plot(snrs, [by[name, s][key] for s in snrs], label=LABELS[name], **STYLES[name])
        if key == "mode0_weight":
            exact_w = [by["exact", s]["mode0_weight_exact"] for s in snrs]
            ax.plot(snrs, exact_w, color="k", linestyle="-.", marker="x", label="exact weight")
        if key in ("mean_error", "cov_error"):
            ax.set_yscale("log")
        ax.set_ylabel(label)
    ax = axes.ravel()[3]
    for name in SAMPLERS[1:]:
        for key, precoder, fill in (
            ("se_expected_gramian", "expected Gramian", "full"),
            ("se_manifold", "manifold (hollow)", "none"),
        ):
            loss = [100 * (1 - by[name, s][key] / by["exact", s][key]) for s in snrs]
            style = dict(STYLES[name], fillstyle=fill)
            ax.plot(snrs, loss, label=f"{LABELS[name]}, {precoder}", **style)
    ax.axhline(0.0, color="k", linewidth=0.8)
    ax.set_ylabel("SE loss vs exact-posterior draws [%]")
    for ax in axes.ravel():
        ax.set_xlabel("pilot SNR [dB]")
        ax.grid(True, alpha=0.3)
        ax.legend(fontsize=8)


def write_csv(path: Path, rows) -> None:
    buf = io.StringIO(newline="")
    writer = csv.DictWriter(buf, fieldnames=list(rows[0]))
    writer.writeheader()
    writer.writerows(rows)
    tmp = path.with_suffix(path.suffix + ".tmp")
    tmp.write_text(buf.getvalue())
    tmp.replace(path)


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--out", type=Path, default=Path("out"), help="output directory")
    p.add_argument("--pilot-snr-db", type=float, nargs="+", default=[-10.0, 0.0, 10.0, 20.0])
    p.add_argument("--snr-db", type=float, default=10.0, help="downlink transmit SNR")
    p.add_argument("--n-rx", type=int, default=2)
    p.add_argument("--n-tx", type=int, default=4)
    p.add_argument("--n-pilots", type=int, default=2)
    p.add_argument("--n-streams", type=int, default=2)
    p.add_argument("--n-trials", type=int, default=16)
    p.add_argument("--n-samples", type=int, default=512, help="draws per posterior")
    p.add_argument("--n-precoder-samples", type=int, default=64)
    p.add_argument("--n-steps", type=int, default=50, help="DDIM steps")
    p.add_argument("--n-train", type=int, default=20_000)
    p.add_argument("--iterations", type=int, default=3000)
    p.add_argument("--width", type=int, default=128)
    p.add_argument("--device", default="auto")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--quick", action="store_true", help="tiny smoke run (seconds)")
    p.add_argument("--no-progress", action="store_true", help="hide the progress bar")
    args = p.parse_args(argv)
    if args.quick:
        args.pilot_snr_db = [0.0, 20.0]
        args.n_trials, args.n_samples, args.n_precoder_samples = 2, 64, 16
        args.n_steps, args.n_train, args.iterations, args.width = 10, 2000, 50, 32
    return args


def main(argv=None) -> list[dict]:
    args = parse_args(argv)
    import matplotlib.pyplot as plt

    rows = run(args)
    args.out.mkdir(parents=True, exist_ok=True)
    write_csv(args.out / "learned_posterior.csv", rows)
    fig, axes = plt.subplots(2, 2, figsize=(11, 8))
    plot(rows, axes)
    fig.suptitle(
        f"Learned vs exact posteriors ({args.n_rx}x{args.n_tx} MIMO, two-mode prior, "
        f"{args.n_steps}-step DDIM, downlink SNR {args.snr_db:g} dB)",
        fontsize=10,
    )
    fig.tight_layout()
    fig.savefig(args.out / "learned_posterior.png", dpi=150)
    plt.close(fig)
    print(summary(rows))
    print(f"wrote {args.out / 'learned_posterior'}.csv and .png")
    return rows


if __name__ == "__main__":
    main()
