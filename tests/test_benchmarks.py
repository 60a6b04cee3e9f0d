"""Smoke run of the boundary-scale benchmark at a tiny size, so the script cannot rot."""

from __future__ import annotations

import csv
import importlib.util
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]


def _load(relative: str):
    path = ROOT / relative
    spec = importlib.util.spec_from_file_location(path.stem, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_boundary_scale_benchmark_tiny(tmp_path, capsys):
    module = _load("benchmarks/bench_boundary_scale.py")
    argv = ["--n-tx", "8", "--n-points", "3", "--sweep-points", "2", "--n-trials", "2"]
    argv += ["--sca-n-tx", "0"]  # the SCA case imports cvxpy in each child: too slow here
    rows = module.main([*argv, "--repeats", "1", "--rounds", "1", "--out", str(tmp_path)])
    assert [(r["case"], r["n_tx"]) for r in rows] == [("boundary", 8), ("crb_sweep", 16)]
    with (tmp_path / "bench_boundary_scale.csv").open() as fh:
        table = list(csv.DictReader(fh))
    assert len(table) == 2
    for row in table:
        values = [float(row[k]) for k in row if k not in ("case", "n_tx", "n_points")]
        assert all(np.isfinite(v) and v >= 0 for v in values)
        ratio = float(row["time_default_s"]) / float(row["time_one_thread_s"])
        assert float(row["ratio_default_over_one"]) == ratio
    out = capsys.readouterr().out
    assert "threads" in out and ("PASS" in out or "FAIL" in out)


def test_multi_user_benchmark_tiny(tmp_path, capsys):
    module = _load("benchmarks/bench_multi_user.py")
    argv = ["--n-scenarios", "2", "--users", "3", "--n-tx", "8", "16", "--boundary-users", "2"]
    argv += ["--boundary-points", "3", "--thread-scenarios", "0", "--profile-users", "2"]
    argv += ["--profile-n-tx", "8", "--profile-scenarios", "1", "--baseline", "0"]
    module.main([*argv, "--out", str(tmp_path)])
    with (tmp_path / "bench_multi_user.csv").open() as fh:
        table = list(csv.DictReader(fh))
    assert {row["n_tx"] for row in table} == {"8", "16"}
    assert all(row["outcome"] in ("optimal", "infeasible") for row in table)
    assert (tmp_path / "bench_multi_user_boundary.png").stat().st_size > 0
    out = capsys.readouterr().out
    assert "median" in out and "profile" in out and "overall:" in out


def test_receiver_scale_benchmark_tiny(tmp_path, capsys):
    module = _load("benchmarks/bench_receiver_scale.py")
    argv = ["--n-tx", "32", "--n-trials", "1000", "--n-accuracy", "200", "--out", str(tmp_path)]
    rows = module.main(argv)
    assert [r["receiver"].split()[0] for r in rows] == ["new", "new", "new", "previous"]
    with (tmp_path / "bench_receiver_scale.csv").open() as fh:
        table = list(csv.DictReader(fh))
    assert len(table) == 4
    for row in table:
        assert all(np.isfinite(float(row[k])) for k in row if k != "receiver")
    # the new receiver's statistic reaches the dense-grid maximum (the benchmark's own check)
    assert float(table[0]["share_within_0p1pct"]) >= 0.99
    assert "PASS" in capsys.readouterr().out


def test_noise_aware_base_benchmark_tracks_the_per_drop_exact_model(tmp_path, capsys):
    # reference: each drop's exact noise prediction with its own noise variance; the
    # noise-aware base's error shrinks with the pairs, the SNR-blind base's does not
    module = _load("benchmarks/bench_gaussian_base.py")
    argv = ["--entries", "16", "--n-pilots", "4", "--repeats", "1", "--noise-aware",
            "--out", str(tmp_path)]  # fmt: skip
    small = module.main([*argv, "--n-samples", "2000"])[0]
    big = module.main([*argv, "--n-samples", "50000"])[0]
    assert big["aware_rel_error_vs_exact"] < small["aware_rel_error_vs_exact"] / 3
    assert big["aware_rel_error_vs_exact"] < 0.2 * big["blind_rel_error_vs_exact"]
    assert (tmp_path / "bench_gaussian_base_noise_aware.csv").stat().st_size > 0
    assert "per-drop model" in capsys.readouterr().out


def test_gaussian_base_benchmark_tiny_and_consistent(tmp_path, capsys):
    # the exact noise prediction of the true Gaussian model is the reference: the base's
    # error must shrink like 1/sqrt(n) (25x the pairs: about 5x smaller)
    module = _load("benchmarks/bench_gaussian_base.py")
    argv = ["--entries", "16", "--n-pilots", "4", "--repeats", "1", "--out", str(tmp_path)]
    small = module.main([*argv, "--n-samples", "2000"])[0]
    big = module.main([*argv, "--n-samples", "50000"])[0]
    assert big["base_rel_error_vs_exact"] < small["base_rel_error_vs_exact"] / 3
    assert big["base_rel_error_vs_exact"] < 0.03
    with (tmp_path / "bench_gaussian_base.csv").open() as fh:
        table = list(csv.DictReader(fh))
    assert len(table) == 1 and float(table[0]["ratio_base_over_lmmse"]) > 0
    assert "exact model" in capsys.readouterr().out
