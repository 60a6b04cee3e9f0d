"""Score-based channel prediction and Bayesian precoding on aged 3GPP channels.

The study of "A Perception vs. Distortion Perspective on Score-Based Generative Channel
Estimation" (Section VII) at CPU scale: a 3GPP UMa channel (sionna), 4 SRS instants 40 ms
apart hopping over two sub-bands with a comb of 2, the full-band channel to predict 20 ms
after the last SRS, in a low- and a high-mobility regime. Per regime it trains, on the same
transformer backbone (`beamopt.score`): the discriminative SL estimator (MSE) and the
conditional diffusion model (cosine schedule, CFG null token); plus the end-to-end precoder
(`beamopt.channels.train_e2e_precoder`, an MLP + QR trained on spectral efficiency).

Writes ``score_precoding_table2.csv`` (NMSE / GCS: SRS baseline, SL, one DM sample,
deterministic DM), ``score_precoding_se.csv`` + ``.png`` (SE vs DL SNR: perfect CSI, E2E, SRS,
SL (CME plug-in), one DM sample, expected Gramian over 16 / 64 DM samples, manifold precoder
on the 16 samples), ``score_precoding_cfg.csv`` + ``.png`` (SE vs CFG scale, ensemble vs
deterministic DM) and ``score_precoding_trajectory.csv`` + ``.png`` (NMSE / GCS of the reverse
state and of its jump-to-clean estimate along the trajectory, stochastic vs deterministic, high
mobility). Run ``python examples/score_precoding.py --out out`` (about ten minutes on two
cores); ``--scale 4`` multiplies the data, iterations and test set; ``--quick`` is a smoke run.
Data sets, trained models and the E2E precoder are cached under ``<out>/cache/``, so a second
run (e.g. after a crash, or to redo the figures) reuses them instead of retraining.
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import time
from pathlib import Path

import numpy as np

from beamopt._io import write_atomic
from beamopt.channels import ChannelConfig, build_dataset, srs_baseline, train_e2e_precoder
from beamopt.precoding import (
    cme_precoder,
    expected_gramian_precoder,
    manifold_precoder,
    spectral_efficiency,
)

REGIMES = {"low": 1.0, "high": 3.0}  # user speed, km/h (3.5 GHz carrier)
N_STREAMS = 2
SNRS_DB = (-10.0, -5.0, 0.0, 5.0, 10.0, 15.0, 20.0)
GUIDANCE = (0.0, 0.25, 0.5, 0.75, 1.0, 1.5)
TRAJECTORY_REGIME = "high"


def nmse(est, H):
    err = np.sum(np.abs(est - H) ** 2, axis=(1, 2, 3))
    return float(np.mean(err / np.sum(np.abs(H) ** 2, axis=(1, 2, 3))))


def gcs(est, H):
    """Mean over samples and subcarriers of |<h_n, h_hat_n>| / (|h_n| |h_hat_n|)."""
    a = est.reshape(*est.shape[:2], -1)
    b = H.reshape(*H.shape[:2], -1)
    num = np.abs(np.sum(a.conj() * b, axis=-1))
    den = np.linalg.norm(a, axis=-1) * np.linalg.norm(b, axis=-1) + 1e-30
    return float(np.mean(num / den))


def mean_se(H, Fs, snr):
    return float(np.mean([spectral_efficiency(h[None], F, snr).mean() for h, F in zip(H, Fs)]))


def e2e_precoder(train, path, **kwargs):
    """Train the E2E precoder, or load it from `path` if it was trained with the same settings."""
    import torch

    from beamopt.channels import E2EPrecoder

    meta = {
        **kwargs,
        "obs_shape": list(train.observations.shape),
        "target_shape": list(train.target.shape),
    }
    if path.exists():
        saved = torch.load(path, map_location="cpu", weights_only=True)
        if json.loads(saved["meta"]) == meta:
            Ht = train.target
            model = E2EPrecoder(
                train.observations.shape[1:], Ht.shape[1], Ht.shape[-1], kwargs["n_streams"]
            )
            model.load_state_dict(saved["weights"])
            model.obs_scale = saved["obs_scale"]
            return model.eval().requires_grad_(False)
    model = train_e2e_precoder(train.observations, train.target, **kwargs)
    buf = io.BytesIO()
    torch.save(
        {"meta": json.dumps(meta), "weights": model.state_dict(), "obs_scale": model.obs_scale},
        buf,
    )
    write_atomic(path, buf.getvalue())
    return model


def trajectory(name, dm, H, Y, sizes, args):
    """NMSE / GCS of the reverse state x_t and of its jump-to-clean estimate, per step."""
    from beamopt.score import ConditionalSampler

    n_obs, n_draws = min(8, len(Y)), 4
    rows = []
    for label, det in (("stochastic", False), ("deterministic", True)):
        sampler = ConditionalSampler(dm, guidance=1.0, n_steps=sizes["steps"], deterministic=det)
        acc = {}
        for i in range(n_obs):
            ref = np.broadcast_to(H[i], (n_draws, *H[i].shape))

            def record(step, sigma, x, h_hat, ref=ref, acc=acc):
                a = acc.setdefault(step, [sigma, [], [], [], []])
                a[1].append(nmse(x, ref))
                a[2].append(nmse(h_hat, ref))
                a[3].append(gcs(x, ref))
                a[4].append(gcs(h_hat, ref))

            sampler.sample(Y[i], n_draws, seed=args.seed + i, callback=record)
        for step, (sigma, *m) in sorted(acc.items()):
            rows.append((name, label, step, sigma, *(float(np.mean(v)) for v in m)))
    return rows


def run_regime(name, speed, sizes, args, out, log):
    from beamopt.score import ConditionalSampler, ScoreConfig, train_estimator, train_score_model

    cfg = ChannelConfig(speed_kmh=speed)
    cache = out / "cache"
    train = build_dataset(
        cfg, sizes["train"], seed=args.seed, cache=cache / f"{name}_train.npz", progress=True
    )
    test_cache = cache / f"{name}_test.npz"
    test = build_dataset(cfg, sizes["test"], seed=args.seed + 1000, cache=test_cache, progress=True)
    H, Y = test.target.astype(np.complex128), test.observations
    net = ScoreConfig(
        network="transformer", d_model=32, n_heads=4, n_encoder_layers=1, n_decoder_layers=2,
        dim_feedforward=64, n_iterations=sizes["iters"], batch_size=64, lr=2e-3, warmup=50,
        ema_decay=0.995, device="cpu", p_uncond=0.1, weighting="eps",
    )  # fmt: skip
    t0 = time.perf_counter()
    sl = train_estimator(
        train.target, train.observations, config=net, seed=args.seed,
        checkpoint=cache / f"{name}_sl.pt",
    )  # fmt: skip
    dm = train_score_model(
        train.target, observations=train.observations, config=net, seed=args.seed,
        checkpoint=cache / f"{name}_dm.pt",
    )  # fmt: skip
    e2e = e2e_precoder(
        train, cache / f"{name}_e2e.pt", n_streams=N_STREAMS, snr=10.0,
        n_iterations=sizes["iters"], seed=args.seed,
    )  # fmt: skip
    log(f"[{name}] trained (or loaded) SL, DM, E2E in {time.perf_counter() - t0:.0f} s")
    traj_rows = trajectory(name, dm, H, Y, sizes, args) if name == TRAJECTORY_REGIME else []

    srs = srs_baseline(cfg, Y)
    sl_est = sl.estimate(Y)
    n_big = sizes["samples"]
    stoch = ConditionalSampler(dm, guidance=1.0, n_steps=sizes["steps"])
    det = ConditionalSampler(dm, guidance=1.0, n_steps=sizes["steps"], deterministic=True)
    t0 = time.perf_counter()
    samples = np.stack([stoch.sample(y, n_big, seed=args.seed + i) for i, y in enumerate(Y)])
    det_est = np.stack([det.sample(y, 1, seed=args.seed + i)[0] for i, y in enumerate(Y)])
    log(f"[{name}] sampled in {time.perf_counter() - t0:.0f} s")
    table2 = [
        (name, model, nmse(est, H), gcs(est, H))
        for model, est in (
            ("SRS baseline", srs),
            ("SL", sl_est),
            ("DM (1 sample)", samples[:, 0]),
            ("DM (deterministic)", det_est),
        )
    ]

    n_small = min(16, n_big)
    precoders = {
        "perfect CSI": [cme_precoder(h, N_STREAMS).F for h in H],
        "E2E": list(e2e.precoders(Y)),
        "SRS baseline": [cme_precoder(h, N_STREAMS).F for h in srs],
        "SL (CME)": [cme_precoder(h, N_STREAMS).F for h in sl_est],
        "DM (1 sample)": [cme_precoder(s[0], N_STREAMS).F for s in samples],
        f"DM Gramian ({n_small})": [
            expected_gramian_precoder(s[:n_small], N_STREAMS).F for s in samples
        ],
        f"DM Gramian ({n_big})": [expected_gramian_precoder(s, N_STREAMS).F for s in samples],
    }
    se_rows = []
    for snr_db in SNRS_DB:
        snr = 10 ** (snr_db / 10)
        for model, Fs in precoders.items():
            se_rows.append((name, model, snr_db, mean_se(H, Fs, snr)))
        if not args.quick or snr_db == 10.0:
            Fs = [
                manifold_precoder(
                    s[:n_small], N_STREAMS, snr, initial_point=F0, max_iterations=sizes["manifold"]
                ).F
                for s, F0 in zip(samples, precoders[f"DM Gramian ({n_small})"])
            ]
            se_rows.append((name, f"DM manifold ({n_small})", snr_db, mean_se(H, Fs, snr)))

    cfg_rows = []
    for w in GUIDANCE:
        s_w = ConditionalSampler(dm, guidance=w, n_steps=sizes["steps"])
        d_w = ConditionalSampler(dm, guidance=w, n_steps=sizes["steps"], deterministic=True)
        F_ens = [
            expected_gramian_precoder(s_w.sample(y, n_small, seed=i), N_STREAMS).F
            for i, y in enumerate(Y)
        ]
        F_det = [cme_precoder(d_w.sample(y, 1, seed=i)[0], N_STREAMS).F for i, y in enumerate(Y)]
        cfg_rows.append((name, w, mean_se(H, F_ens, 10.0), mean_se(H, F_det, 10.0)))
    log(f"[{name}] done")
    return table2, se_rows, cfg_rows, traj_rows


def write_csv(path, header, rows):
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(header)
    for r in rows:
        w.writerow([f"{v:.4g}" if isinstance(v, float) else v for v in r])
    write_atomic(path, buf.getvalue())


def main(argv=None) -> Path:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path("out"))
    parser.add_argument("--quick", action="store_true", help="smoke run (for the tests)")
    parser.add_argument("--scale", type=int, default=1, help="multiply data/iterations/test set")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    import torch

    torch.set_num_threads(1)
    s = args.scale
    sizes = (
        {"train": 64, "test": 3, "iters": 10, "steps": 4, "samples": 4, "manifold": 3}
        if args.quick
        else {"train": 2000 * s, "test": 32 * s, "iters": 800 * s, "steps": 20,
              "samples": 64, "manifold": 20}
    )  # fmt: skip
    out = args.out
    out.mkdir(parents=True, exist_ok=True)
    table2, se_rows, cfg_rows, traj_rows = [], [], [], []
    for name, speed in REGIMES.items():
        t, se, cf, tr = run_regime(name, speed, sizes, args, out, print)
        table2 += t
        se_rows += se
        cfg_rows += cf
        traj_rows += tr
    write_csv(out / "score_precoding_table2.csv", ["regime", "model", "nmse", "gcs"], table2)
    write_csv(out / "score_precoding_se.csv", ["regime", "model", "snr_db", "se"], se_rows)
    write_csv(
        out / "score_precoding_cfg.csv", ["regime", "guidance", "se_ensemble", "se_det"], cfg_rows
    )
    write_csv(
        out / "score_precoding_trajectory.csv",
        ["regime", "sampler", "step", "sigma", "nmse_state", "nmse_jump", "gcs_state", "gcs_jump"],
        traj_rows,
    )
    for r in table2:
        print(f"{r[0]:5s} {r[1]:20s} NMSE {r[2]:.3f}  GCS {r[3]:.3f}")
    _plot(out, se_rows, cfg_rows)
    _plot_trajectory(out, traj_rows)
    return out


def _plot(out, se_rows, cfg_rows):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    # top: SE; bottom: the loss against perfect CSI, where the methods separate
    fig, axes = plt.subplots(2, 2, figsize=(11, 7.5), sharex=True, sharey="row")
    lines = ("-", "--", "-.", ":")
    for col, regime in enumerate(REGIMES):
        rows = [r for r in se_rows if r[0] == regime]
        models = list(dict.fromkeys(r[1] for r in rows))
        perfect = {r[2]: r[3] for r in rows if r[1] == "perfect CSI"}
        for k, model in enumerate(models):
            x, y = zip(*[(r[2], r[3]) for r in rows if r[1] == model])
            kw = {"marker": "os^vD<>p"[k % 8], "color": f"C{k}", "ls": lines[k % 4]}
            axes[0, col].plot(x, y, label=model, **kw)
            if model != "perfect CSI":
                axes[1, col].plot(x, [perfect[a] - b for a, b in zip(x, y)], label=model, **kw)
        axes[0, col].set(title=f"{regime} mobility")
        axes[1, col].set(xlabel="DL SNR [dB]")
        for ax in axes[:, col]:
            ax.grid(alpha=0.3)
    axes[0, 0].set_ylabel("spectral efficiency [bit/s/Hz]")
    axes[1, 0].set_ylabel("loss vs perfect CSI [bit/s/Hz]")
    axes[0, 0].legend(fontsize=7)
    axes[1, 0].legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(out / "score_precoding_se.png", dpi=120)
    plt.close(fig)

    fig, ax = plt.subplots(figsize=(5.5, 4))
    for k, regime in enumerate(REGIMES):
        rows = [r for r in cfg_rows if r[0] == regime]
        w = [r[1] for r in rows]
        ax.plot(w, [r[2] for r in rows], "o-", color=f"C{k}", label=f"{regime}: ensemble (16)")
        ax.plot(w, [r[3] for r in rows], "s--", color=f"C{k}", label=f"{regime}: deterministic")
    ax.set(xlabel="CFG scale w", ylabel="SE at 10 dB [bit/s/Hz]")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8, loc="lower right")
    fig.tight_layout()
    fig.savefig(out / "score_precoding_cfg.png", dpi=120)
    plt.close(fig)


def _plot_trajectory(out, rows):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(11, 4.2))
    styles = {"stochastic": ("C0", "o"), "deterministic": ("C3", "s")}
    for sampler, (color, marker) in styles.items():
        sel = [r for r in rows if r[1] == sampler]
        step = [r[2] + 1 for r in sel]
        for col, what, ls in ((4, "state $x_t$", "--"), (5, "jump-to-clean", "-")):
            mfc = "none" if ls == "--" else color
            kw = {"color": color, "ls": ls, "marker": marker, "ms": 4, "mfc": mfc}
            kw["label"] = f"{sampler}: {what}"
            axes[0].semilogy(step, [r[col] for r in sel], **kw)
            axes[1].plot(step, [r[col + 2] for r in sel], **kw)
    regime = rows[0][0] if rows else TRAJECTORY_REGIME
    axes[0].set(xlabel="reverse step", ylabel="NMSE", title=f"{regime} mobility: NMSE")
    axes[1].set(xlabel="reverse step", ylabel="GCS", title=f"{regime} mobility: GCS")
    for ax in axes:
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(out / "score_precoding_trajectory.png", dpi=120)
    plt.close(fig)


if __name__ == "__main__":
    main()
