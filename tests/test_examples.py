"""The examples run end to end (in their quick mode) and write what they promise."""

from __future__ import annotations

import importlib.util
import runpy
import sys

import pytest

EXAMPLES = {
    "examples/crb_rate_boundary.py": ["crb_rate_boundary.png"],
    "examples/multiuser_design.py": ["multiuser_design.csv", "multiuser_design.png"],
    "examples/e2e_isac.py": [
        "e2e_isac.csv",
        "e2e_isac.png",
        "e2e_calibration.csv",
        "e2e_calibration.png",
    ],
    "examples/learned_posterior.py": ["learned_posterior.csv", "learned_posterior.png"],
    "examples/score_precoding.py": [
        "score_precoding_table2.csv",
        "score_precoding_calibration.csv",
        "score_precoding_se.csv",
        "score_precoding_se.png",
        "score_precoding_claims.csv",
        "score_precoding_done.csv",
        "score_precoding_seeds.csv",
        "score_precoding_cfg.csv",
        "score_precoding_cfg.png",
        "score_precoding_trajectory.csv",
        "score_precoding_trajectory.png",
        "score_precoding_training.png",
        "score_precoding_timings.csv",
        "score_precoding_summary.md",
    ],
    "examples/scoring_isac.py": [
        "scoring_isac.png",
        "scoring_isac_detection.csv",
        "scoring_isac_localisation.csv",
        "scoring_isac_design.csv",
        "scoring_isac_mi.csv",
    ],
}


@pytest.mark.parametrize("path", sorted(EXAMPLES))
def test_example_runs(path, tmp_path, monkeypatch):
    monkeypatch.setattr(sys, "argv", [path, "--quick", "--out", str(tmp_path)])
    runpy.run_path(path, run_name="__main__")
    for name in EXAMPLES[path]:
        assert (tmp_path / name).stat().st_size > 0


def _study():
    spec = importlib.util.spec_from_file_location("score_precoding", "examples/score_precoding.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_study_noise_aware_lmmse_matches_the_sample_covariance_lmmse_and_its_gramian():
    """The study's noise-aware LMMSE against `fit_lmmse` on pairs observed at one known SNR."""
    pytest.importorskip("torch")
    import types

    import numpy as np

    import beamopt
    from beamopt.channels import ChannelConfig

    study = _study()
    cfg = ChannelConfig(n_subcarriers=4, band_size=2, comb_spacing=1, bs_cols=1, n_srs=2)
    rng = np.random.default_rng(0)
    n_hist, n_h = int(np.prod(cfg.history_shape)), int(np.prod(cfg.channel_shape))
    root = (
        rng.standard_normal((n_hist + n_h,) * 2) + 1j * rng.standard_normal((n_hist + n_h,) * 2)
    ) / 6
    n = 40000
    z = (
        rng.standard_normal((n, n_hist + n_h)) + 1j * rng.standard_normal((n, n_hist + n_h))
    ) / np.sqrt(2)
    x = z @ root.T
    train = types.SimpleNamespace(
        history=x[:, :n_hist].reshape(n, *cfg.history_shape),
        target=x[:, n_hist:].reshape(n, *cfg.channel_shape),
    )
    noise_var = 0.3
    clean = train.history[:, cfg.srs_mask()].reshape(n, *cfg.obs_shape)
    Y = clean + np.sqrt(noise_var / 2) * (
        rng.standard_normal(clean.shape) + 1j * rng.standard_normal(clean.shape)
    )
    aware = study.NoiseAwareLMMSE(train, cfg)
    ref = beamopt.fit_lmmse(train.target, Y)
    # the exact LMMSE of the true joint covariance R = root root^H (zero mean)
    R = root @ root.conj().T
    idx = np.arange(n_hist).reshape(cfg.history_shape)[cfg.srs_mask()].reshape(-1)
    c_hy = R[n_hist:][:, idx]
    c_yy = R[idx][:, idx] + noise_var * np.eye(idx.size)
    W = c_hy @ np.linalg.inv(c_yy)
    exact_err = np.trace(R[n_hist:, n_hist:] - W @ c_hy.conj().T).real
    m = 200
    test_y, test_h = Y[-m:].reshape(m, -1), train.target[-m:].reshape(m, -1)
    exact = test_y @ W.T
    nv = np.full(m, noise_var)
    for est in (aware.estimate(Y[-m:], nv), ref.estimate(Y[-m:])):
        # both sample-covariance estimators sit within a few % of the exact one's error
        gap = np.mean(np.sum(np.abs(est.reshape(m, -1) - exact) ** 2, axis=1))
        assert gap < 0.03 * exact_err, (gap, exact_err)
    assert (
        np.mean(np.sum(np.abs(exact - test_h) ** 2, axis=1))
        < 0.9 * np.trace(R[n_hist:, n_hist:]).real
    )
    np.testing.assert_allclose(aware.error_trace(nv[:1])[0], exact_err, rtol=0.03)
    np.testing.assert_allclose(np.trace(ref.error_cov).real, exact_err, rtol=0.03)
    test_y, nv = Y[:1], nv[:1]
    # exact expected Gramian of the Gaussian posterior against Monte Carlo draws of fit_lmmse
    G = aware.expected_gramians(test_y, nv)[0]
    draws = ref.sample(test_y[0], 20000, seed=1)
    np.testing.assert_allclose(G, beamopt.expected_gramian(draws), atol=0.05 * np.abs(G).max())


def test_study_resumes_from_its_cache(tmp_path, monkeypatch):
    pytest.importorskip("sionna.phy")
    path = "examples/score_precoding.py"
    out = tmp_path / "study"
    monkeypatch.setattr(sys, "argv", [path, "--quick", "--out", str(out), "--regimes", "high"])
    runpy.run_path(path, run_name="__main__")
    first = (out / "score_precoding_table2.csv").read_text()
    runpy.run_path(path, run_name="__main__")
    assert (out / "score_precoding_table2.csv").read_text() == first
    timings = (out / "score_precoding_timings.csv").read_text().splitlines()
    stages = [line for line in timings if "/" in line.split(",")[1] or "lmmse" in line]
    assert stages and all(line.endswith("True") for line in stages)


def test_study_hands_the_networks_the_noise_level_of_each_drop():
    """The appended pilot row is sigma_i = 10^(-SNR_i / 20) (the dB definition), the pilots
    themselves are untouched."""
    import dataclasses

    import numpy as np

    study = _study()
    rng = np.random.default_rng(0)
    snr = rng.uniform(-10, 10, 5)
    Y = (rng.standard_normal((5, 3, 4)) + 1j * rng.standard_normal((5, 3, 4))).astype(np.complex64)
    data = dataclasses.make_dataclass("Data", ["observations", "noise_var"])(Y, 10 ** (-snr / 10))
    out = study.with_noise_level(data).observations
    assert out.shape == (5, 4, 4)
    np.testing.assert_array_equal(out[:, :3], Y)
    np.testing.assert_allclose(out[:, 3], np.repeat(10 ** (-snr / 20), 4).reshape(5, 4), rtol=1e-6)


def test_study_untrained_base_gramian_is_the_expected_gramian_of_its_posterior():
    """`base_posterior` (the untrained-DM rows) against Monte Carlo draws of the same Gaussian."""
    pytest.importorskip("torch")
    import warnings

    import numpy as np

    from beamopt.score import ScoreConfig, append_noise_level, train_score_model

    study = _study()
    rng = np.random.default_rng(0)
    n, shape = 4000, (2, 2, 3)  # (n_sc, n_rx, n_tx)
    d = int(np.prod(shape))
    L = (rng.standard_normal((d, d)) + 1j * rng.standard_normal((d, d))) / np.sqrt(2 * d)
    H = ((rng.standard_normal((n, d)) + 1j * rng.standard_normal((n, d))) @ L.T).reshape(n, *shape)
    v = 10 ** (-rng.uniform(-5, 5, n) / 10)
    noise = (rng.standard_normal((n, 2, 4)) + 1j * rng.standard_normal((n, 2, 4))) / np.sqrt(2)
    Y = append_noise_level(H.reshape(n, 2, 6)[:, :, :4] + np.sqrt(v)[:, None, None] * noise, v)
    cfg = ScoreConfig(network="mlp", width=8, n_blocks=1, n_iterations=0, base="gaussian",
                      noise_row=True, device="cpu")  # fmt: skip
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        dm = train_score_model(H, observations=Y, config=cfg, progress=False)
    est, G = study.base_posterior(dm, Y[:3])
    import torch

    from beamopt.score.model import observation_features

    y = torch.as_tensor(Y[:3], dtype=torch.complex128)
    mean, R = dm.network.base.posterior(observation_features(y, dm.obs_scale, 3))
    for i in range(3):
        r = rng.multivariate_normal(mean[i].double().numpy(), R[i].double().numpy(), 200_000)
        draws = (r[:, 0::2] + 1j * r[:, 1::2]).reshape(-1, *shape) * dm.scale
        np.testing.assert_allclose(est[i], draws.mean(0), atol=0.02)
        mc = np.einsum("snra,snrb->nab", draws.conj(), draws) / len(draws)
        np.testing.assert_allclose(G[i], mc, atol=0.03 * np.abs(mc).max())
