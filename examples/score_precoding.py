"""Score-based channel prediction and Bayesian precoding on aged 3GPP channels.

The study of "A Perception vs. Distortion Perspective on Score-Based Generative Channel
Estimation" (Section VII) at CPU scale: a 3GPP UMa channel (sionna), 4 SRS instants 40 ms
apart hopping over two sub-bands with a comb of 2, the full-band channel to predict 20 ms
after the last SRS, in a low- (1 km/h) and a high-mobility (3 km/h) regime. Each sample is
scaled by the power of its SRS history only, and every drop draws its UL SNR uniformly from
[-10, 10] dB (training and test alike), as the paper does.

Per regime and training seed it fits or trains, on the same data:

- the sample-covariance LMMSE estimator, both blind to the SNR (`beamopt.fit_lmmse` on the
  training pairs) and noise-aware (the channel covariances of the training drops and their
  noise-free pilots, with each observation's own noise variance), with its Gaussian
  posterior (plug-in and exact expected Gramian precoders);
- on one transformer backbone (`beamopt.score`, explicit `ScoreConfig`, the library's "v"
  weighting): the discriminative SL estimator (MSE) and the conditional diffusion model (DM,
  cosine schedule, CFG null token), whose network corrects a noise-aware Gaussian base
  (`ScoreConfig(base="gaussian", noise_row=True)`: the untrained DM is each drop's LMMSE
  posterior fitted to the noisy training pairs, reported beside the trained one; `--dm-base
  white` for a network on its own), sampled with the low-rank analytic reverse step and one
  posterior-variance curve per 5 dB UL SNR group (`measure_posterior_variance` on 2 000 fresh
  drops);
- two end-to-end precoders (`beamopt.channels.train_e2e_precoder`): the paper's (the SL
  backbone's latent channel estimate, the dominant eigenvectors of its Gramian, trained on
  the received energy, fine-tuned from the SL weights) and an MLP + QR trained on the
  spectral efficiency at 10 dB.

The learned models see the pilots and the receiver's noise level (one more pilot row holding
the noise standard deviation, as the noise-aware LMMSE is handed it; ``--snr-blind``: the
pilots only). Every learned model keeps its best held-out weights; the iteration budgets
were chosen from the held-out curves (`score_precoding_training.png` shows them for every
model). Outputs in `--out`:

- `score_precoding_table2.csv`: NMSE / GCS per method with 95 % intervals over test drops;
- `score_precoding_calibration.csv`: posterior calibration (spread over error) of the DM and
  the LMMSE Gaussian posteriors;
- `score_precoding_se.csv` + `.png`: spectral efficiency per precoder against the DL SNR
  (95 % bands), at 10 dB against the UL SNR, and its gain over the SL plug-in (paired bands);
- `score_precoding_claims.csv`: every SE / NMSE difference the docs claim, paired over drops,
  with its 95 % interval and verdict; `score_precoding_done.csv`: the acceptance numbers;
- `score_precoding_cfg.csv` + `.png`: SE against the CFG scale, ensemble vs deterministic DM;
- `score_precoding_trajectory.csv` + `.png`: NMSE / GCS of the reverse state and of its
  jump-to-clean estimate against the noise level, with the SL reference;
- `score_precoding_training.png`, `score_precoding_timings.csv`, `score_precoding_summary.md`.

Run ``python examples/score_precoding.py --out out --jobs 2`` (``make study``; the two regimes
in two processes). Data, models and every stage's per-drop results are cached under
``<out>/cache/`` (written atomically), so an interrupted run resumes where it stopped and a
finished one redraws its figures in seconds. ``--train-seeds N`` repeats the learned models
over N training seeds (mean ± spread); ``--scale 4`` multiplies the data, iterations and
test set; ``--quick`` is a smoke run whose figures say so.
"""

from __future__ import annotations

import argparse
import copy
import csv
import io
import itertools
import json
import math
import time
import warnings
from concurrent.futures import ProcessPoolExecutor
from dataclasses import replace
from multiprocessing import get_context
from pathlib import Path

import numpy as np

from beamopt._io import write_atomic

REGIMES = {"low": 1.0, "high": 3.0}  # user speed, km/h (3.5 GHz carrier)
N_STREAMS = 2
UL_SNR_DB = (-10.0, 10.0)
DL_SNRS_DB = (-10.0, -5.0, 0.0, 5.0, 10.0, 15.0, 20.0)
DL_HEADLINE_DB = 10.0
UL_BINS_DB = (-10.0, -6.0, -2.0, 2.0, 6.0, 10.0)
#: UL SNR groups with their own posterior-variance curve for the analytic reverse steps
VARIANCE_BINS_DB = (-10.0, -5.0, 0.0, 5.0, 10.0)
GUIDANCE = (0.0, 0.25, 0.5, 0.75, 1.0, 1.5)
SMOKE = "SMOKE RUN (--quick): tiny data and training, the numbers mean nothing"

#: Full-run sizes per regime (times --scale where it says so).
FULL = {
    "train": 20000,  # x scale
    "test": 320,  # x scale
    "sl_iters": 1500,  # x scale
    "dm_iters": 12000,  # x scale
    "e2e_iters": 400,  # x scale
    "mlp_iters": 2000,  # x scale
    "steps": 20,
    "samples": 64,
    "small": 16,
    "cfg_drops": 128,
    "traj_obs": 16,
    "traj_draws": 4,
    "manifold": 20,
    "var_pairs": 2000,
}
QUICK = {
    "train": 200,
    "test": 10,
    "sl_iters": 24,
    "dm_iters": 24,
    "e2e_iters": 4,
    "mlp_iters": 4,
    "steps": 3,
    "samples": 4,
    "small": 2,
    "cfg_drops": 3,
    "traj_obs": 2,
    "traj_draws": 2,
    "manifold": 2,
    "var_pairs": 40,
}


def backbone_config(iters):
    """The explicit backbone of SL, DM and the paper's E2E (independent of library defaults)."""
    from beamopt.score import ScoreConfig

    return ScoreConfig(
        network="transformer",
        d_model=32,
        n_heads=4,
        n_encoder_layers=1,
        n_decoder_layers=2,
        dim_feedforward=64,
        patch_size=8,
        obs_patch_size=8,
        dropout=0.0,
        objective="ddpm",
        weighting="v",
        n_iterations=iters,
        batch_size=64,
        lr=2e-3,
        warmup=min(100, max(iters // 10, 1)),  # a smoke run's few steps must not all warm up
        lr_schedule="cosine",
        lr_final=0.05,
        eval_every=max(iters // 15, 1),
        patience=None,
        ema_decay=0.995,
        p_uncond=0.1,
        checkpoint_every=max(iters // 6, 1),
        device="cpu",
    )


# --- small statistics -----------------------------------------------------------------------
def mean_ci(x):
    """Mean and the half-width of its normal 95 % interval over rows (drops)."""
    x = np.asarray(x, dtype=float)
    if x.size < 2:
        return float(x.mean()), float("nan")
    return float(x.mean()), float(1.96 * x.std(ddof=1) / math.sqrt(x.size))


def per_drop_nmse(est, H):
    axes = tuple(range(1, H.ndim))
    return np.sum(np.abs(est - H) ** 2, axis=axes) / np.sum(np.abs(H) ** 2, axis=axes)


def per_drop_gcs(est, H):
    """Per drop: mean over subcarriers of |<h_n, h_hat_n>| / (|h_n| |h_hat_n|)."""
    a = est.reshape(*est.shape[:2], -1)
    b = H.reshape(*H.shape[:2], -1)
    num = np.abs(np.sum(a.conj() * b, axis=-1))
    den = np.linalg.norm(a, axis=-1) * np.linalg.norm(b, axis=-1) + 1e-30
    return np.mean(num / den, axis=1)


def per_drop_se(H, F, snr_db):
    r"""Per drop: mean over subcarriers of $\log_2\det(I + \rho/n_s\, F^H H^H H F)$.

    The formula of `beamopt.spectral_efficiency`, vectorised over drops with their own
    precoders (H: (N, n_sc, n_rx, n_tx), F: (N, n_sc, n_tx, n_s)).
    """
    X = H @ F
    n_s = F.shape[-1]
    M = np.eye(n_s) + (10 ** (snr_db / 10) / n_s) * (np.swapaxes(X.conj(), -1, -2) @ X)
    return np.linalg.slogdet(M)[1].mean(axis=1) / np.log(2.0)


# --- the noise-aware LMMSE baseline ----------------------------------------------------------
class NoiseAwareLMMSE:
    r"""Sample-covariance LMMSE that knows each observation's noise variance.

    From training drops it estimates $\mu_h$, $\mu_y$, $C_{hh}$, $C_{hy}$ and $C_{yy}$ of the
    target and the *noise-free* pilots $A\,\mathrm{vec}(H_{\mathrm{hist}})$, and estimates a
    test drop observed with noise variance $\sigma_i^2$ by
    $\hat h_i = \mu_h + C_{hy}(C_{yy} + \sigma_i^2 I)^{-1}(y_i - \mu_y)$, with the error
    covariance $C_{hh} - C_{hy}(C_{yy} + \sigma_i^2 I)^{-1}C_{yh}$ (the Gaussian posterior).
    """

    def __init__(self, train, config):
        mask = config.srs_mask()
        n = train.target.shape[0]
        y = train.history[:, mask].reshape(n, -1).astype(np.complex128)
        h = train.target.reshape(n, -1).astype(np.complex128)
        self.mu_h, self.mu_y = h.mean(axis=0), y.mean(axis=0)
        hc, yc = h - self.mu_h, y - self.mu_y
        self.c_hh = hc.T @ hc.conj() / (n - 1)
        c_hy = hc.T @ yc.conj() / (n - 1)
        lam, U = np.linalg.eigh(yc.T @ yc.conj() / (n - 1))
        self.lam = np.clip(lam, 0.0, None)
        self.U = U
        self.B = c_hy @ U  # C_hy U
        self.shape = train.target.shape[1:]

    def _d(self, noise_var):
        return 1.0 / (self.lam[None, :] + np.asarray(noise_var, dtype=float)[:, None])

    def estimate(self, Y, noise_var):
        y = Y.reshape(Y.shape[0], -1) - self.mu_y
        coef = (y @ self.U.conj()) * self._d(noise_var)  # U^H (y - mu) / (lam + s2)
        return (self.mu_h + coef @ self.B.T).reshape(Y.shape[0], *self.shape)

    def error_blocks(self, noise_var):
        """Diagonal (n_tx, n_tx) blocks of the error covariance per (subcarrier, rx) row."""
        n_tx = self.shape[-1]
        rows = self.B.reshape(-1, n_tx, self.B.shape[1])  # (n_rows, n_tx, n_y)
        prior = np.stack(
            [
                self.c_hh[k * n_tx : (k + 1) * n_tx, k * n_tx : (k + 1) * n_tx]
                for k in range(rows.shape[0])
            ]
        )
        d = self._d(noise_var)
        return prior[None] - np.einsum("kac,nc,kbc->nkab", rows, d, rows.conj(), optimize=True)

    def error_trace(self, noise_var):
        d = self._d(noise_var)
        return np.real(np.trace(self.c_hh)) - np.einsum("c,nc->n", (np.abs(self.B) ** 2).sum(0), d)

    def expected_gramians(self, Y, noise_var):
        r"""$E[H_n^H H_n \mid y] = \hat H_n^H \hat H_n + \sum_r C_{rr}^T$ per subcarrier."""
        est = self.estimate(Y, noise_var)  # (N, n_sc, n_rx, n_tx)
        n_sc, n_rx, n_tx = self.shape
        return expected_gramians(
            est, self.error_blocks(noise_var).reshape(-1, n_sc, n_rx, n_tx, n_tx)
        )


def expected_gramians(est, blocks):
    r"""$E[H_n^H H_n \mid y] = \hat H_n^H \hat H_n + \sum_r C_{rr}^T$ per subcarrier.

    `est` (N, n_sc, n_rx, n_tx): posterior means; `blocks` (N, n_sc, n_rx, n_tx, n_tx): the
    error covariance of each (subcarrier, rx) row."""
    return np.swapaxes(est.conj(), -1, -2) @ est + np.swapaxes(blocks, -1, -2).sum(axis=2)


def with_noise_level(data):
    """The data set with each drop's noise level as one more pilot row (`append_noise_level`)."""
    from beamopt.score import append_noise_level

    return replace(data, observations=append_noise_level(data.observations, data.noise_var))


def base_posterior(dm, Y):
    r"""The untrained DM (its Gaussian base alone): posterior means and expected Gramians.

    `GaussianBase.posterior` in real interleaved coordinates $(a, b)$ gives the complex
    covariance $E[e e^H] = R_{aa} + R_{bb} + i (R_{ba} - R_{ab})$, whose (subcarrier, rx)
    blocks go into `expected_gramians` as for the LMMSE.
    """
    import torch

    from beamopt.score.model import observation_features

    base = dm.network.base
    y = torch.as_tensor(Y, dtype=torch.complex128)
    mean, R = base.posterior(observation_features(y, dm.obs_scale, len(Y)))
    mean, R = mean.double().numpy(), R.double().numpy()
    n, shape = len(Y), dm.channel_shape
    est = (mean[:, 0::2] + 1j * mean[:, 1::2]).reshape(n, *shape) * dm.scale
    C = R[:, 0::2, 0::2] + R[:, 1::2, 1::2] + 1j * (R[:, 1::2, 0::2] - R[:, 0::2, 1::2])
    C = C * dm.scale**2
    n_sc, n_rx, n_tx = shape
    rows = C.reshape(n, n_sc * n_rx, n_tx, n_sc * n_rx, n_tx)
    k = np.arange(n_sc * n_rx)
    blocks = rows[:, k, :, k, :].transpose(1, 0, 2, 3).reshape(n, n_sc, n_rx, n_tx, n_tx)
    G = expected_gramians(est, blocks)
    return est, 0.5 * (G + np.swapaxes(G.conj(), -1, -2))  # the base stores float32


# --- caching ----------------------------------------------------------------------------------
class Stages:
    """Per-stage results as `.npz` files (written atomically) keyed by what produced them."""

    def __init__(self, root: Path, log):
        self.root = root
        self.log = log
        self.timings = []
        root.mkdir(parents=True, exist_ok=True)

    def get(self, name: str, meta: dict, compute) -> dict:
        path = self.root / f"{name}.npz"
        meta = json.loads(json.dumps(meta))
        if path.exists():
            with np.load(path, allow_pickle=False) as f:
                if json.loads(str(f["_meta"])) == meta:
                    out = {k: f[k] for k in f.files if not k.startswith("_")}
                    self.timings.append((name, float(f["_cpu_s"]), float(f["_wall_s"]), True))
                    return out
        c0, w0 = time.process_time(), time.perf_counter()
        out = compute()
        cpu, wall = time.process_time() - c0, time.perf_counter() - w0
        buf = io.BytesIO()
        np.savez(buf, _meta=np.array(json.dumps(meta)), _cpu_s=cpu, _wall_s=wall, **out)
        write_atomic(path, buf.getvalue())
        self.timings.append((name, cpu, wall, False))
        self.log(f"  {self.root.name}/{name}: {cpu:.0f} s CPU, {wall:.0f} s wall")
        return out


def _timed(stages, name, fn):
    c0, w0 = time.process_time(), time.perf_counter()
    out = fn()
    stages.timings.append((name, time.process_time() - c0, time.perf_counter() - w0, None))
    return out


# --- models -----------------------------------------------------------------------------------
def train_models(train, sizes, seed, cache: Path, stages):
    """SL, DM and the two E2E precoders (trained, or loaded from their checkpoints)."""
    from beamopt.score import train_estimator, train_score_model

    H, Y = train.target, train.observations
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        sl = _timed(
            stages,
            "train SL",
            lambda: train_estimator(
                H,
                Y,
                config=backbone_config(sizes["sl_iters"]),
                seed=seed,
                checkpoint=cache / "sl.pt",
                progress=False,
            ),
        )
        dm = _timed(
            stages,
            "train DM",
            lambda: train_score_model(
                H,
                observations=Y,
                config=replace(
                    backbone_config(sizes["dm_iters"]),
                    base="white" if sizes["dm_base"] == "white" else "gaussian",
                    noise_row=sizes["dm_base"] == "noise-aware",
                ),
                seed=seed,
                checkpoint=cache
                / ("dm.pt" if sizes["dm_base"] == "white" else f"dm-{sizes['dm_base']}.pt"),
                progress=False,
            ),
        )
        e2e = _timed(
            stages,
            "train E2E (paper)",
            lambda: e2e_model(
                train,
                cache / "e2e_gramian.pt",
                sl=sl,
                objective="energy",
                head="gramian",
                n_iterations=sizes["e2e_iters"],
                lr=3e-4,
                warmup=20,
                grad_clip=1.0,
                seed=seed,
                eval_every=max(sizes["e2e_iters"] // 10, 1),
            ),
        )
        mlp = _timed(
            stages,
            "train E2E (MLP+QR)",
            lambda: e2e_model(
                train,
                cache / "e2e_qr.pt",
                objective="se",
                head="qr",
                snr=10 ** (DL_HEADLINE_DB / 10),
                n_iterations=sizes["mlp_iters"],
                seed=seed,
                eval_every=max(sizes["mlp_iters"] // 20, 1),
            ),
        )
    notes = sorted(
        {str(w.message).split(";")[0] for w in caught if "Training" in type(w.message).__name__}
    )
    return {"SL": sl, "DM": dm, "E2E (paper)": e2e, "E2E (MLP+QR)": mlp}, notes


def e2e_model(train, path: Path, *, sl=None, seed=0, **kwargs):
    """Train an E2E precoder, or load it from `path` if it was trained with the same settings."""
    import torch

    from beamopt.channels import E2EPrecoder, train_e2e_precoder
    from beamopt.training import TrainingHistory

    meta = {
        **kwargs,
        "seed": seed,
        "obs_shape": list(train.observations.shape),
        # the SL record without its wall time (a resumed run adds to it; the weights are equal)
        "sl_history": None
        if sl is None
        else {k: v for k, v in sl.history.to_dict().items() if k != "elapsed_s"},
    }
    meta = json.loads(json.dumps(meta))
    backbone = None if sl is None else copy.deepcopy(sl)
    if path.exists():
        saved = torch.load(path, map_location="cpu", weights_only=True)
        if json.loads(saved["meta"]) == meta:
            shape = train.target.shape
            model = E2EPrecoder(
                train.observations.shape[1:],
                shape[1],
                shape[-1],
                N_STREAMS,
                head=kwargs["head"],
                n_latent=shape[2],
                backbone=backbone,
            )
            model.load_state_dict(saved["weights"])
            model.obs_scale = saved["obs_scale"]
            model.history = TrainingHistory.from_dict(json.loads(saved["history"]))
            return model.eval().requires_grad_(False)
    model = train_e2e_precoder(
        train.observations,
        train.target,
        n_streams=N_STREAMS,
        backbone=backbone,
        seed=seed,
        **kwargs,
    )
    buf = io.BytesIO()
    torch.save(
        {
            "meta": json.dumps(meta),
            "weights": model.state_dict(),
            "obs_scale": model.obs_scale,
            "history": json.dumps(model.history.to_dict()),
        },
        buf,
    )
    write_atomic(path, buf.getvalue())
    return model


# --- one regime ---------------------------------------------------------------------------------
def run_regime(name, sizes, seed, out: Path, quick: bool, train_seeds: int):
    """Everything of one mobility regime; returns the per-drop results (plain arrays)."""
    import torch

    torch.set_num_threads(1)
    from beamopt import fit_lmmse, posterior_calibration
    from beamopt.channels import ChannelConfig, build_dataset, srs_baseline
    from beamopt.precoding import (
        cme_precoder,
        expected_gramian_precoder,
        gramian_precoder,
        manifold_precoder,
    )
    from beamopt.score import ConditionalSampler, PosteriorVariance, measure_posterior_variance

    logs = []

    def log(msg):
        logs.append(msg)
        print(f"[{name}] {msg}", flush=True)

    cfg = ChannelConfig(speed_kmh=REGIMES[name], snr_db=UL_SNR_DB)
    root = out / "cache" / name
    stages = Stages(root, log)
    train = _timed(
        stages,
        "data (train)",
        lambda: build_dataset(
            cfg, sizes["train"], seed=seed, cache=root / "train.npz", progress=False
        ),
    )
    test = _timed(
        stages,
        "data (test)",
        lambda: build_dataset(
            cfg, sizes["test"], seed=seed + 1000, cache=root / "test.npz", progress=False
        ),
    )
    # fresh drops (never trained on) for the per-SNR posterior-variance curves of the DM
    var_set = _timed(
        stages,
        "data (variance)",
        lambda: build_dataset(
            cfg, sizes["var_pairs"], seed=seed + 2000, cache=root / "variance.npz", progress=False
        ),
    )
    H = test.target.astype(np.complex128)
    Y = test.observations  # what the SRS baseline and the SNR-blind LMMSE see
    # what the learned models see: the pilots, and (by default) the noise level
    net_train = with_noise_level(train) if sizes["noise_input"] else train
    Yn = with_noise_level(test).observations if sizes["noise_input"] else Y
    Yv = with_noise_level(var_set).observations if sizes["noise_input"] else var_set.observations
    edges = np.asarray(VARIANCE_BINS_DB[1:-1])
    drop_bin, var_bin = np.digitize(test.snr_db, edges), np.digitize(var_set.snr_db, edges)
    nv = test.noise_var
    n = len(test)
    meta = {"sizes": sizes, "seed": seed, "regime": name}

    def lmmse_stage():
        blind = fit_lmmse(train.target, train.observations)
        aware = NoiseAwareLMMSE(train, cfg)
        est = aware.estimate(Y, nv)
        G = aware.expected_gramians(Y, nv)
        cal = posterior_calibration(blind, H, Y, n_samples=sizes["samples"], seed=seed)
        return {
            "srs": srs_baseline(cfg, Y),
            "lmmse_blind": blind.estimate(Y),
            "lmmse": est,
            "lmmse_gramian_F": np.stack([gramian_precoder(g, N_STREAMS).F for g in G]),
            "lmmse_spread": aware.error_trace(nv),
            "blind_cal": np.array([cal.ratio, cal.ratio_se]),
        }

    base = stages.get("lmmse", meta, lmmse_stage)
    per_seed = []
    for k in range(train_seeds):
        tseed = seed + k
        sdir = root / f"seed{tseed}"
        if sizes["noise_input"]:  # checkpoints of the other input layout stay where they are
            sdir = sdir / "noise-input"
        sdir.mkdir(parents=True, exist_ok=True)
        models, notes = train_models(net_train, sizes, tseed, sdir, stages)
        for note in notes:
            log(f"seed {tseed}: {note}")
        sl, dm = models["SL"], models["DM"]
        # the reverse step (analytic when the model carries its held-out posterior variance)
        curve = dm.posterior_variance
        smeta = {**meta, "train_seed": tseed, "analytic": curve is not None,
                 "variance_rank": 0 if curve is None else curve.rank}  # fmt: skip

        def variance_stage(dm=dm):
            # one curve per UL SNR group: the DM's draws widen by what its own held-out error
            # is at that SNR, not by the average over the 20 dB range (too little at -10 dB,
            # too much at +10 dB)
            out = []
            for b in range(len(VARIANCE_BINS_DB) - 1):
                rows = np.flatnonzero(var_bin == b)
                c = dm.posterior_variance
                if rows.size >= 8:
                    c = measure_posterior_variance(dm, var_set.target[rows], Yv[rows], seed=b)
                out.append(None if c is None else c.to_dict())
            return {"curves": np.array(json.dumps(out))}

        vmeta = {**smeta, "bins": list(VARIANCE_BINS_DB)}
        raw = stages.get(f"seed{tseed}/variance", vmeta, variance_stage)["curves"]
        curves = [PosteriorVariance.from_dict(c) for c in json.loads(str(raw))]
        smeta = {**vmeta, "variance": "per UL SNR group"}
        stoch_by_bin = [
            ConditionalSampler(dm, guidance=1.0, n_steps=sizes["steps"], variance=c or "auto")
            for c in curves
        ]
        det = ConditionalSampler(dm, guidance=1.0, n_steps=sizes["steps"], deterministic=True)

        def sample_stage(stoch_by_bin=stoch_by_bin, det=det, tseed=tseed):
            draws = np.stack(
                [
                    stoch_by_bin[drop_bin[i]].sample(
                        Yn[i], sizes["samples"], seed=tseed * 100003 + i
                    )
                    for i in range(n)
                ]
            ).astype(np.complex64)
            dets = np.stack([det.sample(Yn[i], 1, seed=tseed * 100003 + i)[0] for i in range(n)])
            return {"draws": draws, "det": dets}

        drawn = stages.get(f"seed{tseed}/samples", smeta, sample_stage)
        draws = drawn["draws"].astype(np.complex128)

        def cal_stage(draws=draws):
            class Cached:  # the stored draws, served to posterior_calibration by index
                def sample(self, i, n_samples, *, seed=None):
                    return draws[int(i), :n_samples]

            out = {}
            for S in sorted({sizes["small"], sizes["samples"]}):
                c = posterior_calibration(Cached(), H, np.arange(n), n_samples=S, seed=0)
                out[f"S{S}"] = np.array(
                    [c.ratio, c.ratio_se, c.nmse, c.nmse_se, c.nmse_mean, c.one_sample_nmse]
                )
            # per drop, for the bias-corrected posterior-mean NMSE (e_i - v_i / S) / |h_i|^2
            out["spread"], out["error"], out["power"] = c.spread, c.error, c.power
            return out

        cal = stages.get(f"seed{tseed}/calibration", smeta, cal_stage)

        def precoder_stage(draws=draws, sl=sl, models=models, drawn=drawn, dm=dm):
            est = {
                "SL": sl.estimate(Yn),
                "DM posterior mean": draws.mean(axis=1),
                "DM (deterministic)": drawn["det"],
                "DM (1 sample)": draws[:, 0],
            }
            untrained = {}
            if getattr(dm.network, "base", None) is not None:
                # what training added: the same model with its network output at zero
                b_est, b_G = base_posterior(dm, Yn)
                est["DM untrained (base)"] = b_est
                untrained["DM untrained (base) Gramian"] = [
                    gramian_precoder(g, N_STREAMS).F for g in b_G
                ]
            F = {
                **untrained,
                "perfect CSI": [cme_precoder(h, N_STREAMS).F for h in H],
                "SRS baseline": [cme_precoder(h, N_STREAMS).F for h in base["srs"]],
                "LMMSE (blind)": [cme_precoder(h, N_STREAMS).F for h in base["lmmse_blind"]],
                "LMMSE": [cme_precoder(h, N_STREAMS).F for h in base["lmmse"]],
                "LMMSE Gramian": list(base["lmmse_gramian_F"]),
                "E2E (paper)": list(models["E2E (paper)"].precoders(Yn)),
                "E2E (MLP+QR)": list(models["E2E (MLP+QR)"].precoders(Yn)),
                **{k: [cme_precoder(h, N_STREAMS).F for h in v] for k, v in est.items()},
                f"DM Gramian ({sizes['small']})": [
                    expected_gramian_precoder(s[: sizes["small"]], N_STREAMS).F for s in draws
                ],
                f"DM Gramian ({sizes['samples']})": [
                    expected_gramian_precoder(s, N_STREAMS).F for s in draws
                ],
            }
            se = {
                k: np.stack([per_drop_se(H, np.stack(v), s) for s in DL_SNRS_DB], axis=1)
                for k, v in F.items()
            }
            snr = 10 ** (DL_HEADLINE_DB / 10)
            Fm = [
                manifold_precoder(
                    s[: sizes["small"]],
                    N_STREAMS,
                    snr,
                    initial_point=F0,
                    max_iterations=sizes["manifold"],
                ).F
                for s, F0 in zip(draws, F[f"DM Gramian ({sizes['small']})"])
            ]
            se[f"DM manifold ({sizes['small']}), 10 dB"] = per_drop_se(
                H, np.stack(Fm), DL_HEADLINE_DB
            )[:, None]
            out = {f"se/{k}": v for k, v in se.items()}
            out.update({f"est/{k}": v for k, v in est.items()})
            return out

        prec = stages.get(f"seed{tseed}/precoders", {**smeta, "untrained": True}, precoder_stage)

        def cfg_stage(dm=dm, tseed=tseed):
            m = min(sizes["cfg_drops"], n)
            ens = np.empty((len(GUIDANCE), m))
            dets = np.empty((len(GUIDANCE), m))
            for j, w in enumerate(GUIDANCE):
                # plain DDPM steps at every w (analytic steps exist only for w = 0 and 1)
                s_w = ConditionalSampler(dm, guidance=w, n_steps=sizes["steps"], variance="ddpm")
                d_w = ConditionalSampler(dm, guidance=w, n_steps=sizes["steps"], deterministic=True)
                Fe = [
                    expected_gramian_precoder(
                        s_w.sample(Yn[i], sizes["small"], seed=i), N_STREAMS
                    ).F
                    for i in range(m)
                ]
                Fd = [cme_precoder(d_w.sample(Yn[i], 1, seed=i)[0], N_STREAMS).F for i in range(m)]
                ens[j] = per_drop_se(H[:m], np.stack(Fe), DL_HEADLINE_DB)
                dets[j] = per_drop_se(H[:m], np.stack(Fd), DL_HEADLINE_DB)
            return {"ensemble": ens, "deterministic": dets}

        cfg_res = stages.get(f"seed{tseed}/cfg", smeta, cfg_stage) if k == 0 else None

        def traj_stage(dm=dm, tseed=tseed, prec=prec, stoch_by_bin=stoch_by_bin, det=det):
            m, S = min(sizes["traj_obs"], n), sizes["traj_draws"]
            res = {}
            for label, is_det in (("stochastic", False), ("deterministic", True)):
                rec = np.zeros((sizes["steps"], m, 4))
                sig = np.zeros(sizes["steps"])
                for i in range(m):
                    ref = H[i][None]

                    def cb(step, sigma, x, h_hat, i=i, ref=ref, rec=rec, sig=sig):
                        sig[step] = sigma
                        rec[step, i] = (
                            per_drop_nmse(x, ref).mean(),
                            per_drop_nmse(h_hat, ref).mean(),
                            per_drop_gcs(x, np.broadcast_to(ref, x.shape)).mean(),
                            per_drop_gcs(h_hat, np.broadcast_to(ref, x.shape)).mean(),
                        )

                    sampler = det if is_det else stoch_by_bin[drop_bin[i]]
                    sampler.sample(Yn[i], S, seed=tseed * 7919 + i, callback=cb)
                res[f"{label}/values"] = rec
                res[f"{label}/sigma"] = sig
            res["sl_nmse"] = per_drop_nmse(prec["est/SL"][:m], H[:m])
            res["lmmse_nmse"] = per_drop_nmse(base["lmmse"][:m], H[:m])
            return res

        traj = stages.get(f"seed{tseed}/trajectory", smeta, traj_stage) if k == 0 else None
        histories = {k2: m2.history.to_dict() for k2, m2 in models.items()}
        per_seed.append(
            {
                "seed": tseed,
                "cal": cal,
                "prec": prec,
                "cfg": cfg_res,
                "traj": traj,
                "histories": histories,
            }
        )
    return {
        "name": name,
        "H": H,
        "snr_db": test.snr_db,
        "base": base,
        "seeds": per_seed,
        "timings": stages.timings,
        "logs": logs,
        "n_train": len(train),
    }


def _run_regime_job(args):
    return run_regime(*args)


# --- report -----------------------------------------------------------------------------------
def nmse_table(res):
    """Per-drop NMSE / GCS of every estimate (first training seed)."""
    H, base, prec = res["H"], res["base"], res["seeds"][0]["prec"]
    est = {
        "SRS baseline": base["srs"],
        "LMMSE (blind)": base["lmmse_blind"],
        "LMMSE": base["lmmse"],
    }
    est.update({k[4:]: v for k, v in prec.items() if k.startswith("est/")})
    return {k: (per_drop_nmse(v, H), per_drop_gcs(v, H)) for k, v in est.items()}


def se_at(res, method, seed_index=0, dl_db=DL_HEADLINE_DB):
    se = res["seeds"][seed_index]["prec"][f"se/{method}"]
    if se.shape[1] == 1:
        return se[:, 0]
    return se[:, DL_SNRS_DB.index(dl_db)]


def paired(a, b):
    """Mean and 95 % half-width of the paired difference a - b over drops."""
    return mean_ci(np.asarray(a) - np.asarray(b))


def verdict(lo, hi, *, want_positive=True):
    if lo > 0:
        return "holds" if want_positive else "does not hold"
    if hi < 0:
        return "does not hold" if want_positive else "holds"
    return "undecided"


def claims(results, sizes):
    """Every difference the docs state, paired over test drops (first training seed)."""
    rows = []
    big, small = f"DM Gramian ({sizes['samples']})", f"DM Gramian ({sizes['small']})"
    gains = {}
    for name, res in results.items():
        tab = nmse_table(res)
        sl = tab["SL"][0]

        def add(claim, a, b, *, want_positive=True, what="SE [bit/s/Hz] at DL 10 dB", name=name):
            m, h = paired(a, b)
            rows.append(
                (
                    name,
                    claim,
                    what,
                    m,
                    m - h,
                    m + h,
                    verdict(m - h, m + h, want_positive=want_positive),
                )
            )
            return m, h

        add("SL NMSE below DM one-sample NMSE", tab["DM (1 sample)"][0], sl, what="NMSE")
        add("SL NMSE below DM posterior-mean NMSE", tab["DM posterior mean"][0], sl, what="NMSE")
        add("SL NMSE below deterministic-DM NMSE", tab["DM (deterministic)"][0], sl, what="NMSE")
        add("LMMSE NMSE below SL NMSE", sl, tab["LMMSE"][0], what="NMSE")
        add(
            "LMMSE NMSE below DM posterior-mean NMSE",
            tab["DM posterior mean"][0],
            tab["LMMSE"][0],
            what="NMSE",
        )
        if "DM untrained (base)" in tab:
            # the deterministic DM propagates the mean: no Monte Carlo share v / S in its error
            add(
                "deterministic-DM NMSE below its untrained base's",
                tab["DM untrained (base)"][0],
                tab["DM (deterministic)"][0],
                what="NMSE",
            )
            add(
                f"{big} above its untrained base's exact Gramian",
                se_at(res, big),
                se_at(res, "DM untrained (base) Gramian"),
            )
            add(
                "LMMSE NMSE below the untrained base's (noise-free vs noisy training pilots)",
                tab["DM untrained (base)"][0],
                tab["LMMSE"][0],
                what="NMSE",
            )
        se = {
            m: se_at(res, m)
            for m in (
                big,
                small,
                "SL",
                "E2E (paper)",
                "E2E (MLP+QR)",
                "LMMSE",
                "LMMSE Gramian",
                "DM (1 sample)",
                "DM posterior mean",
                "perfect CSI",
            )
        }
        gains[name] = add(f"{big} above SL plug-in", se[big], se["SL"])
        add(f"{big} above one DM sample", se[big], se["DM (1 sample)"])
        add(f"{big} above {small}", se[big], se[small])
        add(f"{big} above DM posterior-mean plug-in", se[big], se["DM posterior mean"])
        add("E2E (paper) above SL plug-in", se["E2E (paper)"], se["SL"])
        add(f"E2E (paper) above {big}", se["E2E (paper)"], se[big])
        add("E2E (paper) above E2E (MLP+QR)", se["E2E (paper)"], se["E2E (MLP+QR)"])
        add("E2E (MLP+QR) above SL plug-in", se["E2E (MLP+QR)"], se["SL"])
        add(f"E2E (MLP+QR) above {big}", se["E2E (MLP+QR)"], se[big])
        add("LMMSE Gramian above LMMSE plug-in", se["LMMSE Gramian"], se["LMMSE"])
        add(f"{big} above LMMSE Gramian", se[big], se["LMMSE Gramian"])
        add("SL plug-in above LMMSE plug-in", se["SL"], se["LMMSE"])
        cfg = res["seeds"][0]["cfg"]
        if cfg is not None:
            gap = cfg["ensemble"] - cfg["deterministic"]
            i1, ih, i0 = GUIDANCE.index(1.0), GUIDANCE.index(0.5), GUIDANCE.index(0.0)
            add(
                "CFG: ensemble above deterministic at w = 1",
                cfg["ensemble"][i1],
                cfg["deterministic"][i1],
            )
            add("CFG: gap wider at w = 0.5 than at w = 1", gap[ih], gap[i1])
            add("CFG: gap narrower at w = 0 than at w = 0.5", gap[i0], gap[ih], want_positive=False)
    if {"low", "high"} <= set(gains):
        (mh, hh), (ml, hl) = gains["high"], gains["low"]
        d, h = mh - ml, math.hypot(hh, hl)
        rows.append(
            (
                "both",
                f"{big} gain over SL larger in high than in low mobility",
                "SE [bit/s/Hz] at DL 10 dB",
                d,
                d - h,
                d + h,
                verdict(d - h, d + h),
            )
        )
    return rows


def done_rows(results, sizes):
    """The acceptance numbers of the study (first training seed)."""
    rows = []
    big = f"DM Gramian ({sizes['samples']})"
    for name, res in results.items():
        tab = nmse_table(res)
        sl, lm = mean_ci(tab["SL"][0])[0], mean_ci(tab["LMMSE"][0])[0]
        blind = mean_ci(tab["LMMSE (blind)"][0])[0]
        one = mean_ci(tab["DM (1 sample)"][0])[0]
        pm = mean_ci(tab["DM posterior mean"][0])[0]
        c = res["seeds"][0]["cal"]
        cal = c[f"S{sizes['samples']}"]
        exact_pm = float(np.mean((c["error"] - c["spread"] / sizes["samples"]) / c["power"]))
        m, h = paired(se_at(res, big), se_at(res, "SL"))
        rows += [
            (name, "DM one-sample NMSE / SL NMSE", one / sl, "<= 2.2", one / sl <= 2.2),
            (name, "DM posterior-mean NMSE / SL NMSE", pm / sl, "<= 1", pm / sl <= 1.0),
            (name, "DM posterior-mean NMSE / LMMSE NMSE", pm / lm, "<= 1.05", pm / lm <= 1.05),
            (
                name,
                "DM posterior-mean NMSE / SNR-blind LMMSE NMSE (fit_lmmse)",
                pm / blind,
                "<= 1.05",
                pm / blind <= 1.05,
            ),
            (
                name,
                "DM exact-posterior-mean NMSE (estimated) / LMMSE NMSE",
                exact_pm / lm,
                "<= 1.05",
                exact_pm / lm <= 1.05,
            ),
            (
                name,
                f"DM calibration ratio (S = {sizes['samples']})",
                cal[0],
                "in [0.85, 1.15]",
                0.85 <= cal[0] <= 1.15,
            ),
            (
                name,
                f"SE({big}) - SE(SL plug-in), 95 % paired interval [{m - h:+.3f}, {m + h:+.3f}]",
                m,
                ">= 0",
                m >= 0,
            ),
        ]
    return rows


def seed_spread(results, sizes):
    """Headline numbers per training seed: mean ± standard deviation over seeds."""
    rows = []
    big = f"DM Gramian ({sizes['samples']})"
    for name, res in results.items():
        H = res["H"]
        vals = {}
        for s in res["seeds"]:
            p = s["prec"]
            for key in ("SL", "DM posterior mean", "DM (1 sample)"):
                vals.setdefault(f"NMSE {key}", []).append(per_drop_nmse(p[f"est/{key}"], H).mean())
            vals.setdefault("calibration ratio", []).append(s["cal"][f"S{sizes['samples']}"][0])
            for key in (big, "SL", "E2E (paper)"):
                se = p[f"se/{key}"][:, DL_SNRS_DB.index(DL_HEADLINE_DB)]
                vals.setdefault(f"SE {key}", []).append(se.mean())
            diff = p[f"se/{big}"] - p["se/SL"]
            vals.setdefault(f"SE {big} - SL", []).append(
                diff[:, DL_SNRS_DB.index(DL_HEADLINE_DB)].mean()
            )
        for key, v in vals.items():
            v = np.asarray(v)
            rows.append((name, key, len(v), v.mean(), v.std(ddof=1) if v.size > 1 else math.nan))
    return rows


def write_csv(path, header, rows):
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(header)
    for r in rows:
        w.writerow([f"{v:.4g}" if isinstance(v, float) else v for v in r])
    write_atomic(path, buf.getvalue())


def report(results, sizes, out: Path, quick: bool, elapsed) -> dict:
    t2 = []
    for name, res in results.items():
        for model, (nm, gc) in nmse_table(res).items():
            t2.append((name, model, *mean_ci(nm), *mean_ci(gc)))
    write_csv(
        out / "score_precoding_table2.csv",
        ["regime", "model", "nmse", "nmse_ci95", "gcs", "gcs_ci95"],
        t2,
    )
    cal_rows = []
    for name, res in results.items():
        for S_key, c in res["seeds"][0]["cal"].items():
            if not S_key.startswith("S"):
                continue
            cal_rows.append(
                (name, f"DM ({sizes['steps']} DDPM steps)", int(S_key[1:]), *map(float, c))
            )
        tr = res["base"]["lmmse_spread"]
        err = per_drop_nmse(res["base"]["lmmse"], res["H"]) * np.sum(
            np.abs(res["H"]) ** 2, axis=(1, 2, 3)
        )
        cal_rows.append(
            (
                name,
                "LMMSE Gaussian posterior (exact)",
                math.inf,
                float(tr.mean() / err.mean()),
                math.nan,
                math.nan,
                math.nan,
                math.nan,
                math.nan,
            )
        )
        # per UL SNR group: where the draws are too narrow or too wide (spread / error of
        # the 64-draw mean, and the LMMSE's exact posterior beside it)
        cal = res["seeds"][0]["cal"]
        group = np.digitize(res["snr_db"][: len(cal["spread"])], VARIANCE_BINS_DB[1:-1])
        S = sizes["samples"]
        for b, (lo, hi) in enumerate(itertools.pairwise(VARIANCE_BINS_DB)):
            m = group == b
            if not m.any():
                continue
            ratio = (1 + 1 / S) * cal["spread"][m].sum() / cal["error"][m].sum()
            ratio_lmmse = tr[: len(m)][m].sum() / err[: len(m)][m].sum()
            span = f"UL SNR in [{lo:g}, {hi:g}{')' if hi < VARIANCE_BINS_DB[-1] else ']'} dB"
            for label, r in (("DM", ratio), ("LMMSE Gaussian posterior (exact)", ratio_lmmse)):
                cal_rows.append((name, f"{label}, {span}", S, float(r), *[math.nan] * 5))
        bc = res["base"]["blind_cal"]
        cal_rows.append(
            (
                name,
                "LMMSE (blind) Gaussian posterior",
                sizes["samples"],
                float(bc[0]),
                float(bc[1]),
                math.nan,
                math.nan,
                math.nan,
                math.nan,
            )
        )
    write_csv(
        out / "score_precoding_calibration.csv",
        [
            "regime",
            "sampler",
            "n_samples",
            "ratio",
            "ratio_se",
            "nmse_mean_of_S",
            "nmse_se",
            "nmse_exact_mean_est",
            "one_sample_nmse",
        ],
        cal_rows,
    )
    se_rows = []
    for name, res in results.items():
        for key, se in res["seeds"][0]["prec"].items():
            if not key.startswith("se/"):
                continue
            snrs = DL_SNRS_DB if se.shape[1] > 1 else (DL_HEADLINE_DB,)
            for j, s in enumerate(snrs):
                se_rows.append((name, key[3:], s, *mean_ci(se[:, j])))
    write_csv(
        out / "score_precoding_se.csv", ["regime", "model", "dl_snr_db", "se", "se_ci95"], se_rows
    )
    cl = claims(results, sizes)
    write_csv(
        out / "score_precoding_claims.csv",
        ["regime", "claim", "quantity", "difference", "ci95_lo", "ci95_hi", "verdict"],
        cl,
    )
    dn = done_rows(results, sizes)
    write_csv(
        out / "score_precoding_done.csv", ["regime", "criterion", "value", "target", "met"], dn
    )
    spread = seed_spread(results, sizes)
    write_csv(
        out / "score_precoding_seeds.csv", ["regime", "quantity", "n_seeds", "mean", "std"], spread
    )
    cfg_rows, traj_rows = [], []
    for name, res in results.items():
        cfg = res["seeds"][0]["cfg"]
        for j, w in enumerate(GUIDANCE):
            cfg_rows.append(
                (
                    name,
                    w,
                    *mean_ci(cfg["ensemble"][j]),
                    *mean_ci(cfg["deterministic"][j]),
                    *mean_ci(cfg["ensemble"][j] - cfg["deterministic"][j]),
                )
            )
        tr = res["seeds"][0]["traj"]
        for label in ("stochastic", "deterministic"):
            vals, sig = tr[f"{label}/values"], tr[f"{label}/sigma"]
            for step in range(vals.shape[0]):
                traj_rows.append(
                    (
                        name,
                        label,
                        step,
                        float(sig[step]),
                        *(float(v) for v in vals[step].mean(axis=0)),
                    )
                )
    write_csv(
        out / "score_precoding_cfg.csv",
        ["regime", "guidance", "se_ensemble", "ci95", "se_det", "ci95", "gap", "gap_ci95"],
        cfg_rows,
    )
    write_csv(
        out / "score_precoding_trajectory.csv",
        ["regime", "sampler", "step", "sigma", "nmse_state", "nmse_jump", "gcs_state", "gcs_jump"],
        traj_rows,
    )
    tim = [(name, *t) for name, res in results.items() for t in res["timings"]]
    tim.append(("all", "study (wall, this run)", math.nan, elapsed, False))
    write_csv(
        out / "score_precoding_timings.csv", ["regime", "stage", "cpu_s", "wall_s", "cached"], tim
    )
    _summary(out, results, sizes, t2, cal_rows, cl, dn, spread, quick)
    _plot_se(out, results, sizes, quick)
    _plot_cfg(out, results, quick)
    _plot_trajectory(out, results, quick)
    _plot_training(out, results, quick)
    return {"table2": t2, "claims": cl, "done": dn}


def _md(header, rows, fmt="{:.3f}"):
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for r in rows:
        cells = [fmt.format(v) if isinstance(v, float) else str(v) for v in r]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def _summary(out, results, sizes, t2, cal_rows, cl, dn, spread, quick):
    parts = [f"# Score-precoding study{' (' + SMOKE + ')' if quick else ''}", ""]
    parts += ["## NMSE / GCS (mean ± 95 % half-width over test drops)", ""]
    parts.append(_md(["regime", "model", "NMSE", "±", "GCS", "±"], t2))
    parts += ["", "## Calibration", ""]
    parts.append(
        _md(
            [
                "regime",
                "sampler",
                "S",
                "ratio",
                "se",
                "NMSE(mean of S)",
                "se",
                "NMSE(exact mean, est.)",
                "one-sample NMSE",
            ],
            cal_rows,
        )
    )
    se_rows = []
    for name, res in results.items():
        for key in res["seeds"][0]["prec"]:
            if key.startswith("se/"):
                se_rows.append((name, key[3:], *mean_ci(se_at(res, key[3:]))))
    parts += ["", f"## SE at DL {DL_HEADLINE_DB:.0f} dB [bit/s/Hz]", ""]
    parts.append(_md(["regime", "precoder", "SE", "±"], se_rows))
    parts += ["", "## Claims (paired over drops)", ""]
    parts.append(_md(["regime", "claim", "quantity", "diff", "lo", "hi", "verdict"], cl))
    parts += ["", "## Acceptance", ""]
    parts.append(_md(["regime", "criterion", "value", "target", "met"], dn))
    parts += ["", "## Training seeds", ""]
    parts.append(_md(["regime", "quantity", "seeds", "mean", "std"], spread, fmt="{:.4f}"))
    for name, res in results.items():
        for s in res["seeds"]:
            for model, h in s["histories"].items():
                its = h["iterations"]
                parts.append(
                    f"- {name}, seed {s['seed']}, {model}: best held-out at "
                    f"{h['best_iteration']} of {its[-1]} iterations"
                )
        for line in res["logs"]:
            parts.append(f"- {name}: {line}")
    write_atomic(out / "score_precoding_summary.md", "\n".join(parts) + "\n")


# --- figures ----------------------------------------------------------------------------------
def _mpl():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _title(fig, text, quick):
    fig.suptitle(f"{SMOKE}\n{text}" if quick else text, fontsize=10, color="C3" if quick else "k")


SE_FIG_MODELS = (
    "E2E (paper)",
    "E2E (MLP+QR)",
    "SRS baseline",
    "LMMSE",
    "LMMSE Gramian",
    "SL",
    "DM (1 sample)",
    "DM posterior mean",
    "DM (deterministic)",
)


def _plot_se(out, results, sizes, quick):
    plt = _mpl()
    models = (*SE_FIG_MODELS, f"DM Gramian ({sizes['samples']})")
    fig, axes = plt.subplots(3, len(results), figsize=(5.2 * len(results), 11.5), squeeze=False)
    centres = 0.5 * (np.array(UL_BINS_DB[:-1]) + np.array(UL_BINS_DB[1:]))
    for col, (name, res) in enumerate(results.items()):
        prec = res["seeds"][0]["prec"]
        perfect = prec["se/perfect CSI"]
        which = np.digitize(res["snr_db"], UL_BINS_DB[1:-1])
        for k, model in enumerate(models):
            kw = {
                "color": f"C{k % 10}",
                "marker": "os^vD<>pPX*"[k % 11],
                "ms": 4,
                "ls": "-" if model.startswith(("DM", "E2E")) else "--",
            }
            loss = perfect - prec[f"se/{model}"]
            m = np.array([mean_ci(loss[:, j]) for j in range(loss.shape[1])])
            ax = axes[0, col]
            ax.plot(DL_SNRS_DB, m[:, 0], label=model, **kw)
            ax.fill_between(
                DL_SNRS_DB,
                m[:, 0] - m[:, 1],
                m[:, 0] + m[:, 1],
                color=kw["color"],
                alpha=0.15,
                lw=0,
            )
            j10 = DL_SNRS_DB.index(DL_HEADLINE_DB)
            b = np.array(
                [
                    mean_ci(loss[which == i, j10]) if np.sum(which == i) > 1 else (np.nan, np.nan)
                    for i in range(len(centres))
                ]
            )
            ax = axes[1, col]
            ax.plot(centres, b[:, 0], **kw)
            ax.fill_between(
                centres, b[:, 0] - b[:, 1], b[:, 0] + b[:, 1], color=kw["color"], alpha=0.15, lw=0
            )
            if model in ("SL", "SRS baseline", "DM (1 sample)"):
                continue  # the reference, and two far below it
            # paired over drops: the curves the loss panels cannot separate
            gain = np.array([mean_ci(v) for v in (prec[f"se/{model}"] - prec["se/SL"]).T])
            ax = axes[2, col]
            ax.plot(DL_SNRS_DB, gain[:, 0], **kw)
            ax.fill_between(DL_SNRS_DB, gain[:, 0] - gain[:, 1], gain[:, 0] + gain[:, 1],
                            color=kw["color"], alpha=0.15, lw=0)  # fmt: skip
        axes[2, col].axhline(0.0, color="0.3", lw=0.8)
        axes[2, col].set(xlabel="DL SNR [dB] (all UL SNRs)")
        axes[0, col].set(title=f"{name} mobility", xlabel="DL SNR [dB] (all UL SNRs)")
        axes[1, col].set(xlabel=f"UL SNR [dB] (bins; DL SNR {DL_HEADLINE_DB:.0f} dB)")
        for ax in axes[:, col]:
            ax.grid(alpha=0.3)
    axes[0, 0].set_ylabel("SE loss vs perfect CSI [bit/s/Hz]")
    axes[1, 0].set_ylabel("SE loss vs perfect CSI [bit/s/Hz]")
    axes[2, 0].set_ylabel("SE gain over the SL plug-in, paired [bit/s/Hz]")
    handles, labels = axes[0, 0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="lower center", ncol=4, fontsize=8, frameon=False)
    _title(
        fig,
        "Spectral-efficiency loss against perfect CSI (lower is better) and gain over SL "
        "(bands: 95 % intervals over test drops, paired in the bottom row)",
        quick,
    )
    fig.tight_layout(rect=(0, 0.07, 1, 0.96))
    fig.savefig(out / "score_precoding_se.png", dpi=120)
    plt.close(fig)


def _plot_cfg(out, results, quick):
    plt = _mpl()
    fig, axes = plt.subplots(1, 2, figsize=(11, 4.4))
    w = np.array(GUIDANCE)
    for k, (name, res) in enumerate(results.items()):
        cfg = res["seeds"][0]["cfg"]
        for key, ls, mk in (("ensemble", "-", "o"), ("deterministic", "--", "s")):
            m = np.array([mean_ci(v) for v in cfg[key]])
            axes[0].plot(
                w,
                m[:, 0],
                ls=ls,
                marker=mk,
                color=f"C{k}",
                label=f"{name}: {'ensemble (16)' if key == 'ensemble' else key}",
            )
            axes[0].fill_between(
                w, m[:, 0] - m[:, 1], m[:, 0] + m[:, 1], color=f"C{k}", alpha=0.15, lw=0
            )
        g = np.array([mean_ci(a - b) for a, b in zip(cfg["ensemble"], cfg["deterministic"])])
        axes[1].plot(w, g[:, 0], "o-", color=f"C{k}", label=f"{name} mobility")
        axes[1].fill_between(
            w, g[:, 0] - g[:, 1], g[:, 0] + g[:, 1], color=f"C{k}", alpha=0.15, lw=0
        )
    axes[0].set(xlabel="CFG scale w", ylabel=f"SE at DL {DL_HEADLINE_DB:.0f} dB [bit/s/Hz]")
    axes[1].set(xlabel="CFG scale w", ylabel="ensemble minus deterministic [bit/s/Hz]")
    for ax in axes:
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8, loc="upper left", bbox_to_anchor=(0.0, -0.15), ncol=2, frameon=False)
    _title(fig, "SE against the guidance scale (bands: 95 % intervals; right: paired gap)", quick)
    fig.tight_layout()
    fig.savefig(out / "score_precoding_cfg.png", dpi=120)
    plt.close(fig)


def _plot_trajectory(out, results, quick):
    plt = _mpl()
    fig, axes = plt.subplots(2, len(results), figsize=(5.6 * len(results), 7.6), squeeze=False)
    styles = {"stochastic": "C0", "deterministic": "C3"}
    for col, (name, res) in enumerate(results.items()):
        tr = res["seeds"][0]["traj"]
        for label, color in styles.items():
            vals, sig = tr[f"{label}/values"], tr[f"{label}/sigma"]
            for row, (i_state, i_jump) in enumerate(((0, 1), (2, 3))):
                ax = axes[row, col]
                for idx, ls, what in (
                    (i_state, "--", "state $x_t$"),
                    (i_jump, "-", "jump-to-clean"),
                ):
                    m = np.array([mean_ci(v) for v in vals[:, :, idx]])
                    ax.plot(
                        sig,
                        m[:, 0],
                        ls=ls,
                        marker="o" if ls == "-" else "s",
                        ms=3,
                        color=color,
                        mfc=color if ls == "-" else "none",
                        label=f"{label}: {what}",
                    )
                    ax.fill_between(
                        sig, m[:, 0] - m[:, 1], m[:, 0] + m[:, 1], color=color, alpha=0.12, lw=0
                    )
        for ref, color, label in (("sl_nmse", "k", "SL estimate"), ("lmmse_nmse", "0.5", "LMMSE")):
            m, h = mean_ci(tr[ref])
            ax = axes[0, col]
            ax.axhline(m, color=color, ls="-." if ref == "sl_nmse" else ":", lw=1.2, label=label)
            ax.axhspan(m - h, m + h, color=color, alpha=0.08, lw=0)
        for ax in axes[:, col]:
            ax.set_xscale("log")
            ax.invert_xaxis()  # the reverse process runs from large to small noise
            ax.grid(alpha=0.3)
        axes[0, col].set_yscale("log")
        axes[0, col].set(title=f"{name} mobility", ylabel="NMSE")
        axes[1, col].set(
            xlabel=r"noise level $\sigma_t$ of the reverse step (normalised)", ylabel="GCS"
        )
    handles, labels = axes[0, 0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="lower center", ncol=3, fontsize=8, frameon=False)
    _title(fig, "Reverse trajectories (bands: 95 % intervals over observations)", quick)
    fig.tight_layout(rect=(0, 0.08, 1, 0.95))
    fig.savefig(out / "score_precoding_trajectory.png", dpi=120)
    plt.close(fig)


def _plot_training(out, results, quick):
    from beamopt.training import TrainingHistory

    plt = _mpl()
    names = list(next(iter(results.values()))["seeds"][0]["histories"])
    fig, axes = plt.subplots(
        len(results), len(names), figsize=(4.6 * len(names), 3.9 * len(results)), squeeze=False
    )
    for row, (name, res) in enumerate(results.items()):
        for col, model in enumerate(names):
            ax = axes[row, col]
            hist = TrainingHistory.from_dict(res["seeds"][0]["histories"][model])
            loss = hist.validation_loss
            log = bool(np.all(loss[np.isfinite(loss)] > 0)) and bool(
                np.all(hist.train_loss[np.isfinite(hist.train_loss)] > 0)
            )
            hist.plot(ax=ax, log=log)
            ax.get_legend().remove()
            ax.set_title(f"{name}: {model}", fontsize=9)
            ax.legend(
                fontsize=6, loc="upper left", bbox_to_anchor=(0.0, -0.2), ncol=2, frameon=False
            )
    _title(fig, "Training and held-out loss of every model (dotted: kept weights)", quick)
    fig.tight_layout()
    fig.savefig(out / "score_precoding_training.png", dpi=110)
    plt.close(fig)


# --- entry point ------------------------------------------------------------------------------
def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path("out"))
    parser.add_argument("--quick", action="store_true", help="smoke run (for the tests)")
    parser.add_argument("--scale", type=int, default=1, help="multiply data/iterations/test set")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--train-seeds",
        type=int,
        default=1,
        help="training seeds of the learned models (mean ± spread)",
    )
    parser.add_argument("--jobs", type=int, default=1, help="regimes run in parallel processes")
    parser.add_argument("--regimes", nargs="+", default=list(REGIMES), choices=list(REGIMES))
    parser.add_argument(
        "--dm-iters",
        type=int,
        default=None,
        help=f"DM training iterations (default {FULL['dm_iters']}; times --scale)",
    )
    parser.add_argument(
        "--dm-base",
        choices=("white", "gaussian", "noise-aware"),
        default=None,
        help="what the DM's network corrects: a white prior, the SNR-blind LMMSE posterior "
        "(gaussian) or each drop's noise-aware LMMSE posterior (noise-aware, the default; "
        "white with --snr-blind)",
    )
    parser.add_argument(
        "--snr-blind",
        action="store_true",
        help="the learned models see the pilots only, not the receiver's noise level",
    )
    args = parser.parse_args(argv)
    if args.scale < 1 or args.train_seeds < 1 or args.jobs < 1:
        parser.error("--scale, --train-seeds and --jobs must be >= 1")
    if args.dm_base == "noise-aware" and args.snr_blind:
        parser.error("--dm-base noise-aware reads the noise level: it excludes --snr-blind")
    if args.dm_iters is not None and args.dm_iters < 1:
        parser.error(f"--dm-iters must be >= 1; got {args.dm_iters}")
    sizes = dict(QUICK if args.quick else FULL)
    sizes["dm_base"] = args.dm_base or ("white" if args.snr_blind else "noise-aware")
    sizes["noise_input"] = not args.snr_blind
    if args.dm_iters is not None and not args.quick:
        sizes["dm_iters"] = args.dm_iters
    if not args.quick:
        for key in ("train", "test", "sl_iters", "dm_iters", "e2e_iters", "mlp_iters"):
            sizes[key] *= args.scale
    out = args.out
    out.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    jobs = [(name, sizes, args.seed, out, args.quick, args.train_seeds) for name in args.regimes]
    if args.jobs > 1 and len(jobs) > 1:
        with ProcessPoolExecutor(min(args.jobs, len(jobs)), mp_context=get_context("spawn")) as ex:
            done = list(ex.map(_run_regime_job, jobs))
    else:
        done = [run_regime(*j) for j in jobs]
    results = {r["name"]: r for r in done}
    elapsed = time.perf_counter() - t0
    rep = report(results, sizes, out, args.quick, elapsed)
    for r in rep["done"]:
        print(f"{r[0]:5s} {r[1]}: {r[2]:.3f} (target {r[3]}) {'met' if r[4] else 'NOT MET'}")
    print(f"study finished in {elapsed:.0f} s wall; results in {out}")
    return rep


if __name__ == "__main__":
    main()
