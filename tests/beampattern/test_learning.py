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
    steering_matrix,
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
    kw = dict(rho=[1.0], snr_radar_db=20.0, n_samples=2000, n_threshold=1000, rng=5)
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


@pytest.fixture(scope="module")
def positions_half():
    """Positions learned on sector centres in [-60, -10] degrees of an impaired array."""
    true = impaired_positions(K, rng=1, sigma=0.05)
    res = train_model_driven(true, parametrisation="positions", n_grid=181, n_iterations=150,
                             batch_size=256, mean_deg=(-60.0, -10.0), snr_radar_db=10.0,
                             rng=np.random.default_rng(3), device="cpu")  # fmt: skip
    return true, res


def test_learned_positions_generalise_to_an_unseen_sector(positions_half):
    true, res = positions_half
    assert res.parametrisation == "positions" and res.positions.shape == (K,)
    assert abs(res.positions.mean()) < 1e-6  # centred
    # the dictionary is the steering matrix of the learned positions, shared by tx and rx
    np.testing.assert_allclose(res.dictionary, steering_matrix(res.grid, res.positions),
                               atol=1e-5)  # fmt: skip
    sector = (40.0, 60.0)  # never trained: sector centres were in [-60, -10]
    kw = dict(rho=[1.0], snr_radar_db=10.0, n_samples=4000, n_threshold=2000, rng=5)

    def rmse(model):
        x = sector_beam(sector, positions=model)
        return isac_tradeoff(x, x, SensingReceiver.from_positions(sector, model), true,
                             sector, **kw).rmse[0]  # fmt: skip

    base, learned, oracle = rmse(ideal_positions(K)), rmse(res.positions), rmse(true)
    # common random numbers: the differences are far tighter than each RMSE's own error
    assert learned < base - 0.5 * (base - oracle)
    assert learned < 1.1 * oracle


def test_learned_positions_plug_into_the_bistatic_scenario(positions_half):
    import beamopt

    _, res = positions_half
    sc = beamopt.BistaticScenario.default(n_tx=K, n_rx=8).replace(tx_positions=res.positions)
    np.testing.assert_allclose(sc.a, np.exp(2j * np.pi * res.positions * np.sin(sc.dod)))


def test_training_resumes_from_a_result_or_a_dictionary():
    true = impaired_positions(8, rng=2, sigma=0.05)
    kw = dict(n_grid=61, n_iterations=40, batch_size=64, eval_every=20, rng=4, device="cpu",
              dtype=torch.float64)  # fmt: skip
    first = train_model_driven(true, **kw)
    # the second run starts where the first one's kept model is (same held-out draws)
    again = train_model_driven(true, init=first, **kw)
    assert again.history.initial_validation_loss == pytest.approx(
        first.history.best_validation_loss, rel=1e-9)  # fmt: skip
    np.testing.assert_array_equal(again.initial, first.dictionary)
    plain = train_model_driven(true, init=first.dictionary, **kw)
    np.testing.assert_array_equal(plain.dictionary, again.dictionary)
    pos = train_model_driven(true, parametrisation="positions", **kw)
    more = train_model_driven(true, parametrisation="positions", init=pos, **kw)
    np.testing.assert_allclose(more.initial_positions, pos.positions, atol=1e-12)


def test_generators_seed_training_reproducibly():
    kw = dict(n_grid=41, n_iterations=3, batch_size=16, validation=0, device="cpu")
    a = train_model_driven(ideal_positions(4), rng=np.random.default_rng(7), **kw)
    b = train_model_driven(ideal_positions(4), rng=np.random.default_rng(7), **kw)
    c = train_model_driven(ideal_positions(4), rng=torch.Generator().manual_seed(7), **kw)
    np.testing.assert_array_equal(a.dictionary, b.dictionary)
    assert c.history.n_iterations == 3


@pytest.mark.parametrize(
    "kwargs, match",
    [({"n_iterations": 0}, "n_iterations"),
     ({"rng": 0.5}, "rng"),
     ({"n_grid": 8}, "n_grid must be >= K = 16"),
     ({"n_grid": 16}, "condition number .* increase n_grid"),
     ({"parametrisation": "weights"}, "parametrisation"),
     ({"init": np.ones((16, 5))}, r"init must have shape \(16, 156\)"),
     ({"init": np.zeros(8), "parametrisation": "positions"}, "init must hold 16 positions"),
     ({"mean_deg": (-1.0, 1.0), "span_deg": (0.17, 0.35)}, "looks like radians")],
)  # fmt: skip
def test_bad_arguments_raise(kwargs, match):
    with pytest.raises(ValueError, match=match):
        train_model_driven(ideal_positions(16), **{"n_iterations": 1, **kwargs})


def test_a_free_dictionary_cannot_seed_positions():
    res = train_model_driven(ideal_positions(4), n_grid=21, n_iterations=1, batch_size=4,
                             validation=0, device="cpu")  # fmt: skip
    with pytest.raises(ValueError, match="cannot seed parametrisation='positions'"):
        train_model_driven(ideal_positions(4), n_grid=21, parametrisation="positions", init=res)
    with pytest.raises(ValueError, match="n_grid=31 must match"):
        train_model_driven(ideal_positions(4), n_grid=31, init=res)
