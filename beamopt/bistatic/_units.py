r"""One unit vocabulary for the scenario: every quantity under its linear and its log name.

A [`BistaticScenario`][beamopt.BistaticScenario] stores watts and radians (`power`,
`noise_power`, `comm_noise_power`, `dod`, `doa`);
[`from_geometry`][beamopt.BistaticScenario.from_geometry] is written in dBm and degrees
(`power_dbm`, `noise_dbm`, `comm_noise_dbm`, `dod_deg`, `doa_deg`). The constructor,
`from_geometry`, `default` and `replace` accept either name of a quantity (not both), and
an unknown name is a `ValueError` naming the close matches instead of a bare `TypeError`.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Mapping

import numpy as np

from .._validation import check_positive, check_real
from ..units import dbm_to_watt, watt_to_dbm

__all__ = ["UNIT_PAIRS", "to_fields", "to_geometry", "unknown_name"]

#: field (watts, radians) -> its name in from_geometry's units (dBm, degrees)
UNIT_PAIRS = {
    "power": "power_dbm",
    "noise_power": "noise_dbm",
    "comm_noise_power": "comm_noise_dbm",
    "dod": "dod_deg",
    "doa": "doa_deg",
}
_LOG_TO_FIELD = {v: k for k, v in UNIT_PAIRS.items()}
_ANGLES = ("dod", "doa")


def _log_value(name: str, value) -> float:
    """A dBm power or an angle in degrees, checked, converted to the field's unit."""
    if name.endswith("_deg"):
        return float(np.deg2rad(check_real(value, name, "degrees", lower=-90, upper=90)))
    return float(dbm_to_watt(check_real(value, name, "dBm")))


def _field_value(name: str, value) -> float:
    """A power in W or an angle in radians, checked, converted to from_geometry's unit."""
    if name in _ANGLES:
        lim = np.pi / 2
        return float(np.rad2deg(check_real(value, name, "radians", lower=-lim, upper=lim)))
    return float(watt_to_dbm(check_positive(value, name)))


def _check_pairs(kwargs: Mapping, where: str) -> None:
    for field, log in UNIT_PAIRS.items():
        if field in kwargs and log in kwargs:
            raise ValueError(
                f"{where}: give {field} or {log}, not both (the same quantity in two units)"
            )


def unknown_name(name: str, where: str, known: Iterable[str], hint: str = "") -> ValueError:
    """A ValueError for an unknown keyword, with the closest known names."""
    known = sorted(known)
    close = difflib.get_close_matches(name, known, n=3, cutoff=0.6)
    guess = f"; did you mean {' or '.join(repr(c) for c in close)}?" if close else ""
    return ValueError(
        f"{where} has no parameter {name!r}{guess}{hint} (accepted: {', '.join(known)})"
    )


def to_fields(kwargs: Mapping, where: str, fields: Iterable[str], geometry: Iterable[str]):
    """Keywords with every dBm/degree name turned into its field (W, rad).

    `fields` are the accepted field names; a name of `geometry` (a from_geometry-only
    parameter, e.g. a distance) is refused with a pointer to `from_geometry`.
    """
    _check_pairs(kwargs, where)
    fields = set(fields)
    out = {}
    for name, value in kwargs.items():
        if name in fields:
            out[name] = value
        elif name in _LOG_TO_FIELD:
            out[_LOG_TO_FIELD[name]] = _log_value(name, value)
        elif name in geometry:
            raise ValueError(
                f"{where}: {name!r} is a parameter of BistaticScenario.from_geometry; a "
                "scenario holds the alpha and channel it produced, so build a new one with "
                f"from_geometry({name}=...)"
            )
        else:
            raise unknown_name(name, where, fields | set(_LOG_TO_FIELD))
    return out


def to_geometry(kwargs: Mapping, where: str, geometry: Iterable[str]):
    """from_geometry keywords with every W/radian name turned into dBm/degrees.

    Returns the keywords and the exact field values given in W/rad (applied afterwards, so
    `from_geometry(power=0.1).power == 0.1` without a round trip through dBm).
    """
    _check_pairs(kwargs, where)
    geometry = set(geometry)
    out, exact = {}, {}
    for name, value in kwargs.items():
        if name in geometry:
            out[name] = value
        elif name in UNIT_PAIRS:
            out[UNIT_PAIRS[name]] = _field_value(name, value)
            exact[name] = float(value)
        elif name in ("alpha", "channel", "tx_positions", "rx_positions"):
            raise ValueError(
                f"{where}: {name!r} is not a geometry parameter (alpha and channel follow "
                "from the distances, reflection and the seed); set it on the built "
                f"scenario with .replace({name}=...)"
            )
        else:
            raise unknown_name(name, where, geometry | set(UNIT_PAIRS))
    return out, exact
