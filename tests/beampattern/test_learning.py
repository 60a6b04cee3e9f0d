import numpy as np
import pytest

torch = pytest.importorskip("torch")

from beamopt.beampattern import (  # noqa: E402
    SensingReceiver,
    desired_pattern,
    dictionary_correlation,
    ideal_positions,
    impaired_positions,
    isac_tradeoff,
    ls_beam,
    sector_beam,
    train_model_driven,
)

pytestmark = pytest.mark.torch
K, SECTOR = 16, (-40.0, -20.0)


@pytest.fixture(scope="module")
def trained():
    true = impaired_positions(K, rng=1, sigma=0.05)
    kw = dict(n_grid=181, n_iterations=200, batch_size=256, learning_rate=5e-3)
    res = train_model_driven(true, snr_radar_db=20.0, rng=0, device="auto", **kw)
    return true, res


def test_training_lowers_the_held_out_loss(trained):
    _, res = trained
    h = res.history
    assert h.n_iterations == 200 and h.iterations.tolist() == list(range(0, 201, 50))
    # held-out draws: the kept dictionary against the ideal-array initialisation
    assert res.objective == h.best_validation_loss < 0.5 * h.initial_validation_loss


def test_learned_dictionary_beats_the_ideal_model_on_the_impaired_array(trained):
    true, res = trained
    kw = dict(rho=[1.0], snr_radar_db=20.0, n_samples=2000, n_threshold=500, rng=5)
    x = sector_beam(SECTOR, K)
    base = isac_tradeoff(x, x, SensingReceiver.from_positions(SECTOR, ideal_positions(K)),
                         true, SECTOR, **kw)  # fmt: skip
    xl = ls_beam(res.dictionary, desired_pattern(res.grid, SECTOR))
    rx = SensingReceiver.from_dictionary(res.dictionary, res.grid, SECTOR)
    learned = isac_tradeoff(xl, xl, rx, true, SECTOR, **kw)
    assert learned.rmse[0] < 0.8 * base.rmse[0]


def test_learned_columns_correlate_better_with_the_true_steering_vectors(trained):
    true, res = trained
    trained_range = np.abs(res.grid) < np.deg2rad(60)
    c0 = dictionary_correlation(res.initial, res.grid, true)[trained_range]
    c1 = dictionary_correlation(res.dictionary, res.grid, true)[trained_range]
    assert np.mean(1 - c1) < 0.8 * np.mean(1 - c0)


def test_transmitter_solve_equals_the_numpy_ls_beam(trained):
    from beamopt.beampattern import ModelDrivenISAC

    _, res = trained
    model = ModelDrivenISAC(res.dictionary, res.grid, dtype=torch.float64)
    b = desired_pattern(res.grid, np.array([SECTOR, (30.0, 50.0)]))
    x = model.transmit(torch.as_tensor(b)).detach().numpy()
    np.testing.assert_allclose(x, ls_beam(res.dictionary, b), atol=1e-8)


def test_bad_arguments_raise():
    with pytest.raises(ValueError, match="n_iterations"):
        train_model_driven(ideal_positions(4), n_iterations=0)
    with pytest.raises(ValueError, match="rng"):
        train_model_driven(ideal_positions(4), rng=np.random.default_rng(0))
