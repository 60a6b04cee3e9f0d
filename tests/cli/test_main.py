"""The ``beamopt`` command line (beamopt.cli, beamopt.config) on tiny configs."""

from __future__ import annotations

import runpy
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import beamopt
from beamopt.cli import SUBCOMMANDS, main
from beamopt.cli.config import DEFAULTS, OPTIONS, ConfigError, load_config, validate_config

ROOT = Path(__file__).resolve().parents[2]
TINY = """
n_tx = 4
n_rx = 4
n_symbols = 32
n_points = 4
n_trials = 4
signal = "gaussian"
"""
EXPECTED = {
    "crb-vs-snr": ["crb_vs_snr.png", "crb_vs_snr.csv"],
    "crb-vs-power": ["crb_vs_power.png", "crb_vs_power.csv"],
    "crb-vs-distance": ["crb_vs_distance.png", "crb_vs_distance.csv"],
    "boundary": ["boundary.png", "boundary_gaussian.csv", "boundary_known.csv"],
    "schemes": [
        "schemes.png",
        "schemes_optimal.csv",
        "schemes_time_switching.csv",
        "schemes_power_splitting.csv",
    ],
}


@pytest.fixture
def tiny(tmp_path) -> Path:
    path = tmp_path / "tiny.toml"
    path.write_text(TINY)
    return path


@pytest.mark.parametrize("command", list(SUBCOMMANDS))
def test_subcommand_writes_its_files(command, tiny, tmp_path, capsys):
    out = tmp_path / "out"
    assert main([command, "--config", str(tiny), "--out", str(out), "--quiet"]) == 0
    stdout = capsys.readouterr().out
    expected = list(EXPECTED[command])
    if command == "boundary":
        expected.append("boundary_superposition.csv")
    for name in expected:
        assert (out / name).stat().st_size > 0
        assert f"wrote {out / name}" in stdout
    assert (out / expected[0]).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert sorted(p.name for p in out.iterdir()) == sorted(expected)  # no temporary files


def test_sweep_csv_has_the_configured_points(tiny, tmp_path, capsys):
    out = tmp_path / "o"
    assert main(["crb-vs-power", "--config", str(tiny), "--out", str(out), "--quiet"]) == 0
    data = np.loadtxt(out / "crb_vs_power.csv", delimiter=",", skiprows=2)
    assert data.shape == (4, 5)  # x, sensing SNR, three CRBs
    assert data[:, 0] == pytest.approx(np.linspace(10, 50, 4))


def test_boundary_front_csv_round_trips(tiny, tmp_path, capsys):
    out = tmp_path / "o"
    assert main(["boundary", "--config", str(tiny), "--out", str(out), "--quiet"]) == 0
    front = beamopt.ParetoFront.from_csv(out / "boundary_known.csv")
    assert (front.signal, front.scheme, len(front)) == ("known", "optimal", 4)


def test_averaged_boundary_from_config(tmp_path, capsys):
    cfg = tmp_path / "avg.toml"
    cfg.write_text(TINY + "n_draws = 3\n")
    out = tmp_path / "o"
    assert main(["schemes", "--config", str(cfg), "--out", str(out), "--quiet"]) == 0
    front = beamopt.ParetoFront.from_csv(out / "schemes_power_splitting.csv")
    assert front.metadata["n_draws"] == 3


@pytest.mark.slow
def test_averaged_boundary_with_worker_processes(tmp_path, capsys):
    serial, pooled = tmp_path / "serial.toml", tmp_path / "pooled.toml"
    serial.write_text(TINY + "n_draws = 3\n")
    pooled.write_text(TINY + "n_draws = 3\nworkers = 2\n")
    for cfg in (serial, pooled):
        assert main(["boundary", "--config", str(cfg), "--out", str(tmp_path / cfg.stem)]) == 0
    a = beamopt.ParetoFront.from_csv(tmp_path / "serial" / "boundary_known.csv")
    b = beamopt.ParetoFront.from_csv(tmp_path / "pooled" / "boundary_known.csv")
    assert np.array_equal(a.crb, b.crb)


def test_python_dash_m(tiny, tmp_path):
    out = tmp_path / "sub"
    proc = subprocess.run(
        [sys.executable, "-m", "beamopt", "boundary", "--config", str(tiny), "--out", str(out)],
        capture_output=True,
        text=True,
        cwd=ROOT,
    )
    assert proc.returncode == 0, proc.stderr
    assert f"wrote {out / 'boundary.png'}" in proc.stdout
    assert (out / "boundary_gaussian.csv").exists()
    bad = tmp_path / "bad.toml"
    bad.write_text("d_target_rx = -5.0\n")
    proc = subprocess.run(
        [sys.executable, "-m", "beamopt", "boundary", "--config", str(bad)],
        capture_output=True,
        text=True,
        cwd=tmp_path,
    )
    assert proc.returncode == 2
    assert "d_target_rx" in proc.stderr and proc.stdout == ""


BAD_CONFIGS = [
    ("n_antennas = 4\n", "unknown key 'n_antennas'"),
    ('n_tx = "four"\n', "key 'n_tx' must be an integer"),
    ("n_tx = 4.0\n", "key 'n_tx' must be an integer"),
    ("n_points = true\n", "key 'n_points' must be an integer"),
    ("d_target_rx = -5.0\n", "key 'd_target_rx' must be > 0"),
    ("power_dbm = nan\n", "key 'power_dbm' must be finite"),
    ("doa_deg = 95\n", "key 'doa_deg' must be in (-90, 90)"),
    ("deterministic_fraction = 1.5\n", "key 'deterministic_fraction'"),
    ("n_trials = 1\n", "key 'n_trials' must be 0 or >= 2"),
    ('signal = "deterministic"\n', "key 'signal' must be one of"),
    ("snr_min_db = 40.0\n", "key 'snr_min_db' must be < 'snr_max_db'"),
    ("[scenario]\nn_tx = 4\n", "unknown key 'scenario'"),
    ("n_tx = \n", "invalid TOML"),
]


@pytest.mark.parametrize(("content", "message"), BAD_CONFIGS)
def test_bad_config_exits_2_naming_the_problem(content, message, tmp_path, capsys):
    cfg = tmp_path / "bad.toml"
    cfg.write_text(content)
    out = tmp_path / "never"
    assert main(["crb-vs-power", "--config", str(cfg), "--out", str(out)]) == 2
    err = capsys.readouterr().err.strip()
    assert message in err and str(cfg) in err
    assert len(err.splitlines()) == 1
    assert not out.exists()


def test_missing_config_file(tmp_path, capsys):
    assert main(["boundary", "--config", str(tmp_path / "nope.toml")]) == 2
    assert "cannot read config file" in capsys.readouterr().err


def test_unknown_subcommand_is_an_argparse_error(capsys):
    with pytest.raises(SystemExit) as exc:
        main(["pareto"])
    assert exc.value.code == 2


def test_validate_config_defaults_and_types():
    cfg = validate_config({"n_tx": 8, "power_dbm": 20})
    assert cfg["n_tx"] == 8 and isinstance(cfg["power_dbm"], float)
    assert {k: v for k, v in cfg.items() if k not in ("n_tx", "power_dbm")} == {
        k: v for k, v in DEFAULTS.items() if k not in ("n_tx", "power_dbm")
    }
    with pytest.raises(ConfigError) as exc:
        validate_config({"k_factor": -1.0})
    assert exc.value.key == "k_factor"


def test_scenario_defaults_follow_from_geometry():
    sc = beamopt.BistaticScenario.from_geometry(rng=DEFAULTS["seed"])
    from beamopt.cli.config import scenario_kwargs

    ref = beamopt.BistaticScenario.from_geometry(**scenario_kwargs(load_config()))
    assert np.array_equal(sc.channel, ref.channel) and sc.alpha == ref.alpha


def test_docs_and_example_config_cover_every_key():
    docs = (ROOT / "docs" / "cli.md").read_text()
    for key in OPTIONS:
        assert f"`{key}`" in docs, key
    for command in SUBCOMMANDS:
        assert f"beamopt {command}" in docs, command
    example = load_config(ROOT / "examples" / "config.toml")
    text = (ROOT / "examples" / "config.toml").read_text()
    assert all(f"\n{key} = " in text for key in OPTIONS)
    assert example["n_points"] >= 2


def test_example_script_runs(tmp_path, capsys):
    mod = runpy.run_path(str(ROOT / "examples" / "crb_rate_boundary.py"))
    path = mod["main"](["--out", str(tmp_path), "--quick"])
    assert path.exists() and "wrote" in capsys.readouterr().out


@pytest.mark.parametrize("nested", [False, True])
def test_out_naming_a_file_fails_before_computing(tmp_path, capsys, monkeypatch, nested):
    existing = tmp_path / "results.png"
    existing.write_bytes(b"keep me")
    out = existing / "sub" if nested else existing

    def must_not_run(*args):
        raise AssertionError("the computation ran before --out was checked")

    monkeypatch.setitem(SUBCOMMANDS, "boundary", (must_not_run, "x"))
    assert main(["boundary", "--out", str(out), "--quiet"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("beamopt: error: --out ")
    assert "existing file" in err and str(existing) in err
    assert existing.read_bytes() == b"keep me"


def test_unwritable_output_is_one_line(tiny, tmp_path, capsys, monkeypatch):
    def refuse(*args):
        raise PermissionError(13, "Permission denied", str(tmp_path / "x.png"))

    monkeypatch.setitem(SUBCOMMANDS, "boundary", (refuse, "x"))
    assert main(["boundary", "--config", str(tiny), "--out", str(tmp_path), "--quiet"]) == 2
    err = capsys.readouterr().err
    assert err == f"beamopt: error: cannot write '{tmp_path / 'x.png'}': Permission denied\n"


# ------------------------------------------------------------- formats, flags, --out
@pytest.mark.parametrize("fmt, magic", [("pdf", b"%PDF"), ("svg", b"<?xml")])
def test_figure_format_and_size(fmt, magic, tiny, tmp_path):
    out = tmp_path / "out"
    argv = ["crb-vs-power", "--config", str(tiny), "--out", str(out), "--quiet", "--format", fmt]
    assert main(argv) == 0
    assert (out / f"crb_vs_power.{fmt}").read_bytes()[:5].startswith(magic)
    assert not (out / "crb_vs_power.png").exists()


def test_dpi_and_figsize_set_the_pixels(tiny, tmp_path):
    import matplotlib.image

    out = tmp_path / "out"
    argv = ["crb-vs-power", "--config", str(tiny), "--out", str(out), "--quiet",
            "--dpi", "50", "--figsize", "4", "3"]  # fmt: skip
    assert main(argv) == 0
    assert matplotlib.image.imread(out / "crb_vs_power.png").shape[:2] == (150, 200)


def test_flags_override_the_toml_file(tiny, tmp_path):
    out = tmp_path / "out"
    argv = ["crb-vs-power", "--config", str(tiny), "--out", str(out), "--quiet",
            "--n-points", "7", "--power-max-dbm", "40"]  # fmt: skip
    assert main(argv) == 0
    data = np.loadtxt(out / "crb_vs_power.csv", delimiter=",", skiprows=2)
    assert data.shape[0] == 7 and data[-1, 0] == 40.0  # tiny.toml says n_points = 4
    cfg = load_config(tiny, {"n_points": 9, "workers": 2})
    assert (cfg["n_points"], cfg["workers"], cfg["n_tx"]) == (9, 2, 4)


def test_every_config_key_has_a_flag():
    from beamopt.cli.config import flag
    from beamopt.cli.main import _parser

    text = _parser().parse_args(["boundary"]).__dict__
    assert all(f"key_{name}" in text for name in OPTIONS)
    assert flag("n_points") == "--n-points"
    docs = (ROOT / "docs" / "cli.md").read_text()
    for option in ("--format", "--dpi", "--figsize", "--n-points", "--workers"):
        assert f"`{option}" in docs, option


@pytest.mark.parametrize(
    "argv, message",
    [
        (["--n-points", "1"], "command line: --n-points must be >= 2; got 1"),
        (["--signal", "bogus"], "command line: --signal must be one of"),
        (["--snr-min-db", "40"], "'snr_min_db' must be < 'snr_max_db'"),
    ],
)
def test_bad_flag_exits_2_naming_the_flag(argv, message, capsys):
    assert main(["crb-vs-snr", "--quiet", *argv]) == 2
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1


@pytest.mark.parametrize("argv", [["--format", "jpg"], ["--dpi", "0"], ["--n-points", "x"]])
def test_malformed_flags_are_argparse_errors(argv, capsys):
    with pytest.raises(SystemExit) as exc:
        main(["boundary", *argv])
    assert exc.value.code == 2


def test_workers_give_the_serial_numbers(tiny, tmp_path):
    serial, pooled = tmp_path / "serial", tmp_path / "pooled"
    base = ["crb-vs-snr", "--config", str(tiny), "--quiet", "--n-trials", "6"]
    assert main([*base, "--out", str(serial)]) == 0
    assert main([*base, "--out", str(pooled), "--workers", "2"]) == 0
    assert (serial / "crb_vs_snr.csv").read_text() == (pooled / "crb_vs_snr.csv").read_text()


def test_unwritable_out_fails_before_computing(tmp_path, capsys, monkeypatch):
    # root writes anywhere it has permission bits for, so take a mount no one can write to
    import os

    target = Path("/sys/beamopt-cli-test")
    if sys.platform != "linux" or not os.path.isdir("/sys") or os.access("/sys", os.W_OK):
        probe_ok = False
        try:
            target.mkdir()
            target.rmdir()
            probe_ok = True
        except OSError:
            pass
        if probe_ok or sys.platform != "linux":
            pytest.skip("no read-only mount to write into on this machine")

    def must_not_run(*args):
        raise AssertionError("the computation ran before --out was probed")

    monkeypatch.setitem(SUBCOMMANDS, "boundary", (must_not_run, "x"))
    assert main(["boundary", "--out", str(target), "--quiet"]) == 2
    err = capsys.readouterr().err
    assert (
        err.startswith(f"beamopt: error: --out '{target}' is not writable") and err.count("\n") == 1
    )


def test_out_probe_leaves_no_file_behind(tmp_path, monkeypatch):
    monkeypatch.setitem(SUBCOMMANDS, "boundary", (lambda *args: [], "x"))
    out = tmp_path / "new" / "folder"
    assert main(["boundary", "--out", str(out), "--quiet"]) == 0
    assert out.is_dir() and list(out.iterdir()) == []
