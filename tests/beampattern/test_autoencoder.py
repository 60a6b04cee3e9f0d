import numpy as np
import pytest

torch = pytest.importorskip("torch")

from beamopt.beampattern import (  # noqa: E402
    SensingReceiver,
    ideal_positions,
    isac_tradeoff,
    neural_isac_tradeoff,
    sector_beam,
    train_neural_isac,
)

pytestmark = pytest.mark.torch
K, SECTOR = 16, (-40.0, -20.0)


@pytest.fixture(scope="module")
def trained():
    kw = dict(n_iterations=200, batch_size=256, learning_rate=5e-3, snr_radar_db=20.0)
    return train_neural_isac(ideal_positions(K), 1.0, complexity="limited", rng=0, **kw)


def test_both_training_steps_lower_their_held_out_loss(trained):
    for h in (trained.history, trained.history_angle):
        assert h.n_iterations == 200 and h.iterations[0] == 0 and h.n_validation == 2000
        # held-out draws: the kept weights against the untrained networks
        assert h.best_validation_loss < 0.5 * h.initial_validation_loss
    # Table I's limited level: about 5 000 real sensing parameters
    assert 4000 < trained.n_parameters < 6000


def test_trained_detector_beats_chance_but_not_the_maprt_detector(trained):
    kw = dict(snr_radar_db=20.0, n_samples=2000, n_threshold=2000, rng=5)
    nn = neural_isac_tradeoff([trained], ideal_positions(K), SECTOR, **kw)
    x = sector_beam(SECTOR, K)
    rx = SensingReceiver.from_positions(SECTOR, ideal_positions(K))
    ref = isac_tradeoff(x, x, rx, ideal_positions(K), SECTOR, rho=[1.0], **kw)
    # chance at P_fa = 1e-2 is P_md = 0.99; the model-based MAPRT is near-optimal here
    assert nn.p_md[0] < 0.3
    assert nn.p_md[0] >= ref.p_md[0] - 3 * np.sqrt(max(ref.p_md[0], 1e-3) / 2000)
    # angle estimates are inside the sector's scale, not random over [-90, 90] deg
    assert nn.rmse_deg[0] < 10.0


@pytest.mark.parametrize(
    ("kwargs", "name"),
    [
        ({"complexity": "huge"}, "complexity"),
        ({"complexity": 0}, "complexity"),
        ({"omega": 1.5}, "omega"),
        ({"comm_sector_deg": (50.0, 30.0)}, "comm_sector_deg"),
        ({"n_iterations": 0}, "n_iterations"),
        ({"rng": 0.5}, "rng"),
    ],
)
def test_bad_training_arguments_raise(kwargs, name):
    kw = {"n_iterations": 1, "batch_size": 4, **kwargs}
    with pytest.raises(ValueError, match=name):
        train_neural_isac(ideal_positions(K), **kw)


def test_bad_evaluation_arguments_raise(trained):
    with pytest.raises(ValueError, match="results"):
        neural_isac_tradeoff([], ideal_positions(K), SECTOR)
    with pytest.raises(ValueError, match="target_sector_deg"):
        neural_isac_tradeoff([trained], ideal_positions(K), (10.0, -10.0))
    with pytest.raises(ValueError, match="true_positions"):
        neural_isac_tradeoff([trained], ideal_positions(K + 1), SECTOR)


def test_training_leaves_the_global_torch_rng_alone():
    torch.manual_seed(123)
    expected = torch.rand(3)
    torch.manual_seed(123)
    kw = dict(n_iterations=1, batch_size=4, device="cpu")
    a = train_neural_isac(ideal_positions(4), rng=7, **kw)
    assert torch.equal(torch.rand(3), expected)
    b = train_neural_isac(ideal_positions(4), rng=7, **kw)  # same seed, same weights
    for pa, pb in zip(a.model.parameters(), b.model.parameters()):
        assert torch.equal(pa, pb)
