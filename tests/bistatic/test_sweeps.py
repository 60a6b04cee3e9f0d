"""Sensing-only sweeps (beamopt.bistatic.sweeps): the calling convention and executors."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest

import beamopt


def _sweep_inputs():
    sc = beamopt.BistaticScenario.default(n_tx=4, n_rx=4, n_symbols=16)
    snr = np.array([-5.0, 5.0, 15.0])
    return beamopt.with_sensing_snr(sc, snr), snr


def test_point_j_draws_its_trials_from_child_j():
    # the reference: doa_mse at each point with the j-th child of the seed
    scs, snr = _sweep_inputs()
    sweep = beamopt.crb_sweep(scs, snr, signals=("gaussian",), n_trials=20, rng=2)
    for j, (sc, g) in enumerate(zip(scs, np.random.default_rng(2).spawn(len(scs)))):
        W, _ = beamopt.sensing_only_design(sc, "gaussian")
        assert sweep.mse[0, j] == beamopt.doa_mse(sc, W, None, n_trials=20, rng=g).mse


def test_sweep_is_the_same_on_any_executor(dask_executor):
    scs, snr = _sweep_inputs()
    serial = beamopt.crb_sweep(scs, snr, n_trials=20, rng=1)
    with ThreadPoolExecutor(max_workers=2) as ex:
        pooled = beamopt.crb_sweep(scs, snr, n_trials=20, rng=1, executor=ex)
    remote = beamopt.crb_sweep(scs, snr, n_trials=20, rng=1, executor=dask_executor)
    for other in (pooled, remote):
        np.testing.assert_array_equal(other.mse, serial.mse)
        np.testing.assert_array_equal(other.crb, serial.crb)


def test_sweep_is_silent_by_default_and_reports_when_asked(capsys):
    scs, snr = _sweep_inputs()
    beamopt.crb_sweep(scs, snr, n_trials=4, rng=0)
    assert capsys.readouterr().err == ""
    beamopt.crb_sweep(scs, snr, n_trials=4, rng=0, progress=True)
    assert "sweep" in capsys.readouterr().err


def test_sweep_repr_is_short_and_names_the_range():
    scs, snr = _sweep_inputs()
    text = repr(beamopt.crb_sweep(scs, snr, x_label="SNR (dB)", n_trials=4, rng=0))
    assert len(text) < 300 and "n_points=3" in text and "x=(-5, 15)" in text


def test_sweep_argument_errors():
    scs, snr = _sweep_inputs()
    with pytest.raises(ValueError, match="n_trials must be 0"):
        beamopt.crb_sweep(scs, snr, n_trials=1)
    with pytest.raises(ValueError, match="executor"):
        beamopt.crb_sweep(scs, snr, n_trials=2, executor="threads")
