"""TOML configuration of the `beamopt` command line: loading and validation.

A config file is a flat TOML table. Its keys are the parameters of
[`beamopt.BistaticScenario.from_geometry`][] (`seed` stands for its `rng`) and the
sweep options in `SWEEP_OPTIONS`; every key is optional and falls back to
`DEFAULTS`. Unknown keys, wrong types and out-of-range values raise
[`ConfigError`][beamopt.cli.config.ConfigError] with a one-line message naming the key.
"""

from __future__ import annotations

import inspect
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

from ..bistatic.scenario import BistaticScenario
from ..bistatic.schemes import BOUNDARY_SIGNALS

__all__ = [
    "ConfigError",
    "Option",
    "OPTIONS",
    "DEFAULTS",
    "flag",
    "load_config",
    "scenario_kwargs",
]


class ConfigError(ValueError):
    """An invalid configuration; `key` names the offending key (or is None)."""

    def __init__(self, message: str, key: str | None = None):
        super().__init__(message)
        self.key = key


@dataclass(frozen=True)
class Option:
    """One config key: its type (`int`, `float` or `str`), default, check and help.

    `check` returns True for an allowed value; `allowed` describes the range in words.
    """

    name: str
    type: type
    default: object
    help: str
    check: Callable[[object], bool] = lambda value: True
    allowed: str = ""


def _positive(v) -> bool:
    return v > 0


def _angle_open(v) -> bool:
    return -90 < v < 90


_SUPERPOSITION_METHODS = ("auto", "global", "sca")
_GEOMETRY_DEFAULTS = {
    name: p.default
    for name, p in inspect.signature(BistaticScenario.from_geometry).parameters.items()
    if name != "rng"
}

_SCENARIO_OPTIONS = [
    Option("n_tx", int, None, "BS transmit antennas", lambda v: v >= 1, ">= 1"),
    Option("n_rx", int, None, "sensing-receiver antennas", lambda v: v >= 2, ">= 2"),
    Option("dod_deg", float, None, "target DoD at the BS, deg", _angle_open, "in (-90, 90)"),
    Option("doa_deg", float, None, "target DoA at the receiver, deg", _angle_open, "in (-90, 90)"),
    Option(
        "user_angle_deg",
        float,
        None,
        "LoS angle of the CU, deg",
        lambda v: -90 <= v <= 90,
        "in [-90, 90]",
    ),
    Option("d_bs_target", float, None, "BS-target distance, m", _positive, "> 0"),
    Option("d_target_rx", float, None, "target-receiver distance, m", _positive, "> 0"),
    Option("d_bs_user", float, None, "BS-CU distance, m", _positive, "> 0"),
    Option(
        "exponent_sensing", float, None, "path-loss exponent of the echo links", _positive, "> 0"
    ),
    Option("exponent_comm", float, None, "path-loss exponent of the BS-CU link", _positive, "> 0"),
    Option(
        "reflection",
        float,
        None,
        "target reflection coefficient (real)",
        lambda v: v != 0,
        "non-zero",
    ),
    Option(
        "k_factor",
        float,
        None,
        "Rician K factor of the CU channel (linear)",
        lambda v: v >= 0,
        ">= 0",
    ),
    Option("power_dbm", float, None, "BS transmit power, dBm"),
    Option("noise_dbm", float, None, "sensing-receiver noise power, dBm"),
    Option("comm_noise_dbm", float, None, "CU noise power, dBm"),
    Option("n_symbols", int, None, "symbols per sensing block L", lambda v: v >= 1, ">= 1"),
    Option(
        "seed",
        int,
        0,
        "seed of the CU channel draw(s) and Monte Carlo trials",
        lambda v: v >= 0,
        ">= 0",
    ),
]

#: Sweep options shared by the subcommands (each uses the ones it needs).
SWEEP_OPTIONS = [
    Option("n_points", int, 50, "points per curve / boundary", lambda v: v >= 2, ">= 2"),
    Option("snr_min_db", float, -20.0, "crb-vs-snr: lowest sensing SNR, dB"),
    Option("snr_max_db", float, 30.0, "crb-vs-snr: highest sensing SNR, dB"),
    Option(
        "n_trials",
        int,
        100,
        "crb-vs-snr: Monte Carlo trials per point for the estimator MSE (0 disables)",
        lambda v: v == 0 or v >= 2,
        "0 or >= 2",
    ),
    Option("power_min_dbm", float, 10.0, "crb-vs-power: lowest transmit power, dBm"),
    Option("power_max_dbm", float, 50.0, "crb-vs-power: highest transmit power, dBm"),
    Option(
        "distance_min",
        float,
        10.0,
        "crb-vs-distance: shortest target-receiver distance, m",
        _positive,
        "> 0",
    ),
    Option(
        "distance_max",
        float,
        300.0,
        "crb-vs-distance: longest target-receiver distance, m",
        _positive,
        "> 0",
    ),
    Option(
        "deterministic_fraction",
        float,
        0.1,
        "power share of the deterministic signal in the sensing-only superposition curves",
        lambda v: 0 <= v <= 1,
        "in [0, 1]",
    ),
    Option(
        "signal",
        str,
        "superposition",
        "schemes: signal model of the scheme comparison",
        lambda v: v in BOUNDARY_SIGNALS,
        f"one of {', '.join(BOUNDARY_SIGNALS)}",
    ),
    Option(
        "superposition_method",
        str,
        "auto",
        "boundary/schemes: solver of the optimal superposition design (minimize_crb method)",
        lambda v: v in _SUPERPOSITION_METHODS,
        f"one of {', '.join(_SUPERPOSITION_METHODS)}",
    ),
    Option(
        "n_draws",
        int,
        1,
        "boundary/schemes: CU channel draws to average (1: one draw)",
        lambda v: v >= 1,
        ">= 1",
    ),
    Option(
        "workers",
        int,
        0,
        "boundary/schemes (n_draws > 1) and crb-vs-snr (n_trials > 0): worker processes "
        "(0: serial; the numbers do not depend on it)",
        lambda v: v >= 0,
        ">= 0",
    ),
]


def _with_default(o: Option) -> Option:
    default = _GEOMETRY_DEFAULTS[o.name]
    default = o.type(default.real if isinstance(default, complex) else default)
    return Option(o.name, o.type, default, o.help, o.check, o.allowed)


#: Every accepted key, by name.
OPTIONS: dict[str, Option] = {
    o.name: (o if o.default is not None else _with_default(o))
    for o in _SCENARIO_OPTIONS + SWEEP_OPTIONS
}
#: Default value of every key.
DEFAULTS: dict[str, object] = {name: o.default for name, o in OPTIONS.items()}

_ORDERED_PAIRS = [
    ("snr_min_db", "snr_max_db"),
    ("power_min_dbm", "power_max_dbm"),
    ("distance_min", "distance_max"),
]
_TYPE_WORDS = {int: "an integer", float: "a number", str: "a string"}


def _toml_type(value) -> str:
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, Mapping):
        return "table"
    if isinstance(value, list):
        return "array"
    return {int: "integer", float: "float", str: "string"}.get(type(value), type(value).__name__)


def flag(name: str) -> str:
    """The command-line flag that overrides config key `name` (`n_points` -> `--n-points`)."""
    return "--" + name.replace("_", "-")


def _check_value(opt: Option, value, where: str, label: str | None = None):
    label = label or f"key '{opt.name}'"
    ok_type = (
        isinstance(value, str)
        if opt.type is str
        else not isinstance(value, bool)
        and isinstance(value, (int,) if opt.type is int else (int, float))
    )
    if not ok_type:
        raise ConfigError(
            f"{where}: {label} must be {_TYPE_WORDS[opt.type]}; got {_toml_type(value)} {value!r}",
            opt.name,
        )
    value = opt.type(value)
    if opt.type is float and not math.isfinite(value):
        raise ConfigError(f"{where}: {label} must be finite; got {value!r}", opt.name)
    if not opt.check(value):
        raise ConfigError(f"{where}: {label} must be {opt.allowed}; got {value!r}", opt.name)
    return value


def validate_config(raw: Mapping, where: str = "config", overrides: Mapping | None = None) -> dict:
    """Validate a mapping of config keys and fill in the defaults.

    Parameters
    ----------
    raw : mapping
        Key-value pairs as parsed from TOML.
    where : str
        Source name used in error messages (e.g. the file name).
    overrides : mapping, optional
        Values from the command line (`--n-points 20`), applied over `raw`; a bad one is
        reported under its flag.

    Returns
    -------
    dict
        Every key of `OPTIONS` with its validated value.

    Raises
    ------
    ConfigError
        For an unknown key, a wrong type, an out-of-range value, a sweep range whose lower
        end is not below its upper end, or a scenario the constructor rejects.
    """
    cfg = dict(DEFAULTS)
    for key, value in raw.items():
        if key not in OPTIONS:
            raise ConfigError(f"{where}: unknown key '{key}' (allowed: {', '.join(OPTIONS)})", key)
        cfg[key] = _check_value(OPTIONS[key], value, where)
    for key, value in (overrides or {}).items():
        if key not in OPTIONS:
            raise ConfigError(f"command line: unknown option {flag(key)}", key)
        cfg[key] = _check_value(OPTIONS[key], value, "command line", flag(key))
    if overrides:
        where = f"{where} with the command-line options"
    for lo, hi in _ORDERED_PAIRS:
        if not cfg[lo] < cfg[hi]:
            raise ConfigError(
                f"{where}: key '{lo}' must be < '{hi}'; got {cfg[lo]!r} >= {cfg[hi]!r}", lo
            )
    try:
        BistaticScenario.from_geometry(**scenario_kwargs(cfg))
    except ValueError as exc:
        raise ConfigError(f"{where}: invalid scenario: {exc}") from exc
    return cfg


def load_config(path=None, overrides: Mapping | None = None) -> dict:
    """Read and validate a TOML config file; `None` gives the defaults.

    Parameters
    ----------
    path : str or os.PathLike, optional
        A TOML file with a flat table of keys from `OPTIONS`.
    overrides : mapping, optional
        Key values from the command line, applied over the file (see `validate_config`).

    Returns
    -------
    dict
        Every key with its value (file value or default).

    Raises
    ------
    ConfigError
        If the file cannot be read, is not valid TOML or fails
        [`validate_config`][beamopt.cli.config.validate_config].
    """
    if path is None:
        return validate_config({}, "defaults", overrides)
    try:
        import tomllib
    except ModuleNotFoundError:  # Python 3.10
        import tomli as tomllib
    path = Path(path)
    try:
        with path.open("rb") as fh:
            raw = tomllib.load(fh)
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read config file ({exc.strerror})") from exc
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: invalid TOML: {exc}") from exc
    return validate_config(raw, str(path), overrides)


def scenario_kwargs(cfg: Mapping) -> dict:
    """Keyword arguments of
    [`BistaticScenario.from_geometry`][beamopt.BistaticScenario.from_geometry] from a validated
    config."""
    kwargs = {name: cfg[name] for name in _GEOMETRY_DEFAULTS}
    kwargs["rng"] = cfg["seed"]
    return kwargs
