"""The examples run end to end (in their quick mode) and write what they promise."""

from __future__ import annotations

import runpy
import sys

import pytest

EXAMPLES = {
    "examples/crb_rate_boundary.py": ["crb_rate_boundary.png"],
    "examples/multiuser_design.py": ["multiuser_design.csv", "multiuser_design.png"],
    "examples/e2e_isac.py": [
        "e2e_isac.csv",
        "e2e_isac.png",
        "e2e_calibration.csv",
        "e2e_calibration.png",
    ],
    "examples/learned_posterior.py": ["learned_posterior.csv", "learned_posterior.png"],
    "examples/score_precoding.py": [
        "score_precoding_table2.csv",
        "score_precoding_se.csv",
        "score_precoding_se.png",
        "score_precoding_cfg.csv",
        "score_precoding_cfg.png",
        "score_precoding_trajectory.csv",
        "score_precoding_trajectory.png",
    ],
    "examples/scoring_isac.py": [
        "scoring_isac.png",
        "scoring_isac_detection.csv",
        "scoring_isac_localisation.csv",
        "scoring_isac_design.csv",
        "scoring_isac_mi.csv",
    ],
}


@pytest.mark.parametrize("path", sorted(EXAMPLES))
def test_example_runs(path, tmp_path, monkeypatch):
    monkeypatch.setattr(sys, "argv", [path, "--quick", "--out", str(tmp_path)])
    runpy.run_path(path, run_name="__main__")
    for name in EXAMPLES[path]:
        assert (tmp_path / name).stat().st_size > 0
