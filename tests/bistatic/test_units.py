"""One unit vocabulary for the scenario (beamopt.bistatic._units through the public API)."""

from __future__ import annotations

import numpy as np
import pytest

import beamopt
from beamopt import BistaticScenario

# (linear name, value, log name, the same value in dBm/degrees)
PAIRS = [
    ("power", 0.1, "power_dbm", 20.0),
    ("noise_power", 1e-12, "noise_dbm", -90.0),
    ("comm_noise_power", 1e-10, "comm_noise_dbm", -70.0),
    ("doa", np.deg2rad(25.0), "doa_deg", 25.0),
    ("dod", np.deg2rad(-40.0), "dod_deg", -40.0),
]


@pytest.mark.parametrize("field, value, log, log_value", PAIRS)
def test_constructors_and_replace_accept_either_name(field, value, log, log_value):
    sc = BistaticScenario.default()
    by_log = BistaticScenario.default(**{log: log_value})
    by_field = BistaticScenario.default(**{field: value})
    assert getattr(by_field, field) == value  # exact: no round trip through dB
    assert getattr(by_log, field) == pytest.approx(value, rel=1e-12)
    assert np.array_equal(by_field.channel, sc.channel)  # same draw: only the quantity changed
    assert getattr(sc.replace(**{log: log_value}), field) == pytest.approx(value, rel=1e-12)
    assert getattr(sc.replace(**{field: value}), field) == value
    fields = {**sc.to_dict(), "alpha": sc.alpha, "channel": sc.channel}
    del fields[field]
    raw = BistaticScenario(**fields, **{log: log_value})
    assert getattr(raw, field) == pytest.approx(value, rel=1e-12)


def test_conversions_match_the_unit_helpers():
    sc = BistaticScenario.default(power_dbm=17.0)
    assert sc.power == pytest.approx(float(beamopt.dbm_to_watt(17.0)), rel=1e-15)
    assert float(beamopt.watt_to_dbm(sc.power)) == pytest.approx(17.0, abs=1e-12)
    assert float(beamopt.watt_to_dbm(1.0)) == 30.0


@pytest.mark.parametrize("call", ["default", "replace", "init"])
def test_both_names_of_one_quantity_are_refused(call):
    sc = BistaticScenario.default()
    with pytest.raises(ValueError, match="give power or power_dbm, not both"):
        if call == "default":
            BistaticScenario.default(power=1.0, power_dbm=30.0)
        elif call == "replace":
            sc.replace(power=1.0, power_dbm=30.0)
        else:
            BistaticScenario(**{**sc.to_dict(), "alpha": sc.alpha, "channel": sc.channel},
                             power_dbm=30.0)  # fmt: skip


def test_unknown_and_misplaced_names_are_value_errors_naming_the_right_one():
    sc = BistaticScenario.default()
    with pytest.raises(ValueError, match=r"no parameter 'power_db'; did you mean 'power_dbm'"):
        BistaticScenario.default(power_db=20.0)
    with pytest.raises(ValueError, match=r"no parameter 'n_txs'; did you mean 'n_tx'"):
        sc.replace(n_txs=8)
    with pytest.raises(ValueError, match=r"'d_bs_target' is a parameter of .*from_geometry"):
        sc.replace(d_bs_target=10.0)
    with pytest.raises(ValueError, match=r"'alpha' is not a geometry parameter.*replace"):
        BistaticScenario.default(alpha=1e-6)


def test_converted_values_are_checked_in_their_own_unit():
    sc = BistaticScenario.default()
    with pytest.raises(ValueError, match=r"doa_deg must lie in \(-90, 90\) degrees"):
        sc.replace(doa_deg=95.0)
    with pytest.raises(ValueError, match=r"doa must lie in \(-1.5708, 1.5708\) radians"):
        BistaticScenario.default(doa=2.0)
    with pytest.raises(ValueError, match="power must be > 0"):
        BistaticScenario.default(power=-1.0)
    with pytest.raises(ValueError, match="power_dbm must be a real number in dBm"):
        sc.replace(power_dbm="20")


def test_snr_min_db_is_the_linear_target_in_db():
    sc = BistaticScenario.default()
    by_db = beamopt.minimize_crb(sc, snr_min_db=20.0)
    assert by_db.crb == beamopt.minimize_crb(sc, snr_min=100.0).crb
    assert by_db.sinr == pytest.approx(100.0, rel=1e-9)
    with pytest.raises(ValueError, match=r"snr_min .* or snr_min_db .*not both"):
        beamopt.minimize_crb(sc, snr_min=100.0, snr_min_db=20.0)
    with pytest.raises(ValueError, match="snr_min_db"):
        beamopt.minimize_crb(sc, snr_min_db="20")
