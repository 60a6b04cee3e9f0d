r"""Least-squares beampattern synthesis, ISAC beam mixing, MAP detection and model-driven learning.

After Model-Driven End-to-End Learning for Integrated Sensing and Communication: LS beams
towards angular sectors, the ISAC trade-off beam, the MAPRT detector with Monte Carlo
thresholds, QAM detection, Monte Carlo ISAC metrics, covariance pattern matching, and a
learnable steering dictionary shared by the LS transmitter and the sensing receiver
(torch, imported only when the learning names are used).
"""

from __future__ import annotations

from .._lazy import lazy_attributes as _lazy_attributes
from .array_model import beamwidth, ideal_positions, impaired_positions, steering_matrix
from .calibration import dictionary_correlation
from .covariance import CovarianceMatchResult, covariance_beampattern, match_covariance_pattern
from .metrics import IsacTradeoff, isac_tradeoff
from .plots import plot_beampattern, plot_dictionary_correlation, plot_isac_tradeoff
from .receivers import (
    QAM_ORDERS,
    SensingReceiver,
    detection_threshold,
    qam_constellation,
    qam_detect,
)
from .sectors import angle_grid, check_sector, desired_pattern, random_sectors
from .synthesis import beampattern, ls_beam, mix_beams, sector_beam

#: names whose module imports torch; loaded on first access
_LAZY = {
    "ModelDrivenISAC": "learning",
    "LearnedDictionary": "learning",
    "train_model_driven": "learning",
    "NeuralISAC": "autoencoder",
    "NeuralISACResult": "autoencoder",
    "train_neural_isac": "autoencoder",
    "neural_isac_tradeoff": "autoencoder",
}

__all__ = [
    "angle_grid",
    "check_sector",
    "desired_pattern",
    "random_sectors",
    "ideal_positions",
    "impaired_positions",
    "steering_matrix",
    "beamwidth",
    "ls_beam",
    "sector_beam",
    "mix_beams",
    "beampattern",
    "CovarianceMatchResult",
    "match_covariance_pattern",
    "covariance_beampattern",
    "SensingReceiver",
    "detection_threshold",
    "qam_constellation",
    "qam_detect",
    "QAM_ORDERS",
    "IsacTradeoff",
    "isac_tradeoff",
    "dictionary_correlation",
    "plot_beampattern",
    "plot_isac_tradeoff",
    "plot_dictionary_correlation",
    *_LAZY,
]

__getattr__, __dir__ = _lazy_attributes(__name__, globals(), _LAZY)
