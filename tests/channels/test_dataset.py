"""Channel data: seeding, caching, the observation model, ageing and argument checks."""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("sionna.phy")

from beamopt.channels import ChannelConfig, build_dataset, generate_channels, srs_baseline

TINY = {"n_subcarriers": 8, "band_size": 4, "comb_spacing": 2, "bs_cols": 1, "n_srs": 3}


def tiny(**kw):
    return ChannelConfig(**{**TINY, **kw})


@pytest.mark.parametrize("scenario", ["uma", "cdl"])
def test_builder_is_deterministic_under_a_seed(scenario):
    cfg = tiny(scenario=scenario)
    a = build_dataset(cfg, 10, seed=3, batch_size=4, progress=False)
    b = build_dataset(cfg, 10, seed=3, batch_size=4, progress=False)
    c = build_dataset(cfg, 10, seed=4, batch_size=4, progress=False)
    assert a.target.shape == (10, *cfg.channel_shape)
    assert a.history.shape == (10, *cfg.history_shape)
    assert a.observations.shape == (10, *cfg.obs_shape)
    for name in ("history", "target", "observations"):
        np.testing.assert_array_equal(getattr(a, name), getattr(b, name))
    assert not np.allclose(a.target, c.target)
    # the batches are independent draws, not copies of one another
    assert not np.allclose(a.target[:4], a.target[4:8])


def test_cache_round_trip_and_refuses_another_config(tmp_path):
    cfg = tiny()
    path = tmp_path / "train.npz"
    made = build_dataset(cfg, 6, seed=1, batch_size=3, cache=path, progress=False)
    assert path.exists()
    loaded = build_dataset(cfg, 6, seed=1, batch_size=3, cache=path, progress=False)
    for name in ("history", "target", "observations"):
        np.testing.assert_array_equal(getattr(made, name), getattr(loaded, name))
    with pytest.raises(ValueError, match="speed_kmh"):
        build_dataset(tiny(speed_kmh=30.0), 6, seed=1, batch_size=3, cache=path, progress=False)
    with pytest.raises(ValueError, match="seed"):
        build_dataset(cfg, 6, seed=2, batch_size=3, cache=path, progress=False)
    with pytest.raises(ValueError, match="n_samples"):
        build_dataset(cfg, 5, seed=1, batch_size=3, cache=path, progress=False)


def test_observations_are_masked_channels_plus_noise_of_the_stated_variance():
    cfg = tiny(snr_db=0.0, n_srs=2)
    data = build_dataset(cfg, 400, seed=5, batch_size=400, progress=False)
    # direct computation: the selection matrix of the pilot model applied to vec(H_hist)
    A = cfg.observation().A
    clean = (data.history.reshape(len(data), -1) @ A.T).reshape(data.observations.shape)
    # rows of A pick the comb/hop slots of each instant
    mask = np.zeros(cfg.history_shape[:2], bool)
    mask[0, [0, 2]] = mask[1, [4, 6]] = True
    np.testing.assert_array_equal(cfg.srs_mask(), mask)
    noise = data.observations - clean
    assert abs(np.mean(np.abs(noise) ** 2) / cfg.noise_var - 1) < 0.05
    assert abs(np.mean(noise.real**2) / (cfg.noise_var / 2) - 1) < 0.05
    assert abs(np.mean(noise)) < 0.02
    # noise independent of the channel
    assert abs(np.mean(noise * clean.conj())) < 0.03


def test_channel_aged_by_zero_time_equals_the_original():
    h, t = generate_channels(tiny(prediction_delay=0.0), 5, seed=2)
    np.testing.assert_array_equal(t, h[:, -1])
    # a user at rest does not age at all (sionna's Doppler is zero)
    h, t = generate_channels(tiny(speed_kmh=0.0), 5, seed=2)
    np.testing.assert_allclose(h, np.broadcast_to(t[:, None], h.shape), atol=1e-5)
    # a moving one does: the 20 ms ageing changes the channel
    h, t = generate_channels(tiny(speed_kmh=30.0), 5, seed=2)
    assert np.mean(np.abs(t - h[:, -1]) ** 2) > 0.1


def test_channels_are_unit_power_and_cdl_differs_from_uma():
    h, t = generate_channels(tiny(), 6, seed=0)
    full = np.concatenate([h, t[:, None]], axis=1)
    np.testing.assert_allclose(np.mean(np.abs(full) ** 2, axis=(1, 2, 3, 4)), 1.0, rtol=1e-4)


def test_srs_baseline_takes_the_latest_sounding_of_each_subcarrier():
    cfg = tiny(snr_db=80.0)
    data = build_dataset(cfg, 2, seed=0, batch_size=2, progress=False)
    est = srs_baseline(cfg, data.observations)
    # subcarrier 0: sounded at instant 0 and 2 (hops 0, 1, 0) -> instant 2
    np.testing.assert_allclose(est[:, 0], data.history[:, 2, 0], atol=1e-3)
    # subcarrier 4: sounded only at instant 1
    np.testing.assert_allclose(est[:, 4], data.history[:, 1, 4], atol=1e-3)
    # subcarrier 1 is on no comb: the nearest sounded one of the latest instant (0)
    np.testing.assert_allclose(est[:, 1], data.history[:, 2, 0], atol=1e-3)


@pytest.mark.parametrize(
    ("kwargs", "name"),
    [
        ({"scenario": "umi"}, "scenario"),
        ({"speed_kmh": -1.0}, "speed_kmh"),
        ({"n_subcarriers": 0}, "n_subcarriers"),
        ({"band_size": 16}, "band_size"),
        ({"comb_spacing": 8}, "comb_spacing"),
        ({"prediction_delay": -0.01}, "prediction_delay"),
        ({"srs_period": 1e-7}, "srs_period"),
        ({"indoor_probability": 1.5}, "indoor_probability"),
        ({"cdl_model": "Z"}, "cdl_model"),
    ],
)
def test_bad_config_raises_naming_the_parameter(kwargs, name):
    with pytest.raises(ValueError, match=name):
        tiny(**kwargs)


def test_bad_builder_arguments_raise_naming_them():
    cfg = tiny()
    with pytest.raises(ValueError, match="n_samples"):
        build_dataset(cfg, 0, progress=False)
    with pytest.raises(ValueError, match="seed"):
        build_dataset(cfg, 2, seed=-1, progress=False)
    with pytest.raises(ValueError, match="batch_size"):
        build_dataset(cfg, 2, batch_size=0, progress=False)
    with pytest.raises(ValueError, match="config"):
        build_dataset({"scenario": "uma"}, 2, progress=False)
    with pytest.raises(ValueError, match="observations"):
        srs_baseline(cfg, np.zeros((2, 3, 4), complex))


def test_builder_is_the_same_on_a_thread_pool():
    # sionna seeds a process-global generator: the builder serialises it per process, so
    # batches on threads reproduce the serial set exactly
    from concurrent.futures import ThreadPoolExecutor

    cfg = tiny()
    serial = build_dataset(cfg, 9, seed=5, batch_size=3)
    with ThreadPoolExecutor(max_workers=3) as ex:
        pooled = build_dataset(cfg, 9, seed=5, batch_size=3, executor=ex)
    for name in ("history", "target", "observations"):
        np.testing.assert_array_equal(getattr(pooled, name), getattr(serial, name))
    assert len(repr(serial)) < 300 and "ChannelDataset(" in repr(serial)
