"""Smoke runs of the Jensen-gap example and the precoder benchmark (tiny modes)."""

from __future__ import annotations

import csv
import importlib.util
import os
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[1]


def _load(relative: str):
    path = ROOT / relative
    spec = importlib.util.spec_from_file_location(path.stem, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(autouse=True)
def _agg_backend(monkeypatch):
    import matplotlib

    matplotlib.use("Agg")


@pytest.mark.parametrize("sweep", ["snr", "entries"])
def test_jensen_gap_example_quick(tmp_path, sweep):
    module = _load("examples/jensen_gap.py")
    rows = module.main(["--quick", "--sweep", sweep, "--out", str(tmp_path), "--no-progress"])
    assert (tmp_path / f"jensen_gap_{sweep}.png").stat().st_size > 0
    with (tmp_path / f"jensen_gap_{sweep}.csv").open() as fh:
        table = list(csv.DictReader(fh))
    assert len(table) == len(rows) == 2 * len(module.METHODS)
    se = {(r["value"], r["method"]): float(r["se_mean"]) for r in table}
    assert all(np.isfinite(v) and v > 0 for v in se.values())
    # Perfect CSI upper-bounds every method on the same channels.
    for (value, method), v in se.items():
        assert v <= se[(value, "perfect_csi")] + 1e-9, method


def test_precoder_benchmark_quick(tmp_path, monkeypatch):
    # The benchmark pins BLAS threads through os.environ on import; keep that local.
    for var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
        monkeypatch.setenv(var, os.environ.get(var, "1"))
    module = _load("benchmarks/bench_precoders.py")
    rows = module.main(["--quick", "--out", str(tmp_path), "--no-progress"])
    assert (tmp_path / "bench_precoders.png").stat().st_size > 0
    assert (tmp_path / "bench_precoders.csv").exists()
    for r in rows:
        if r["method"].startswith("manifold"):
            eg = next(
                e
                for e in rows
                if e["method"] == "expected_gramian"
                and (e["n_tx"], e["n_samples"]) == (r["n_tx"], r["n_samples"])
            )
            assert r["se_in_sample"] >= eg["se_in_sample"] - 1e-9
