"""Bistatic ISAC: DoA Cramér-Rao bounds, CRB-rate designs, boundaries and estimators.

The model (transmitter, sensing receiver and communication users; Gaussian information
signals with unknown realisations plus deterministic sensing signals) follows the paper
*CRB-Rate Tradeoff for Bistatic ISAC with Gaussian Information and Deterministic Sensing
Signals*. Everything here takes a validated [`BistaticScenario`][beamopt.BistaticScenario].
"""

from __future__ import annotations

from .boundary import ParetoFront, average_boundary, crb_rate_boundary
from .channels import path_loss, rician_channel
from .closed_form import gaussian_isac_beamformer, mrt_covariance
from .comm import communication_rate, communication_sinr
from .crb import beam_gains, crb_doa, doa_information, fisher_information
from .design import minimize_crb
from .echoes import DoaMseResult, EchoSamples, doa_mse, sensing_sequence, simulate_echoes
from .estimation import DoaEstimate, estimate_doa
from .sca import sca_superposition
from .scenario import BistaticScenario
from .schemes import (
    SchemeDesign,
    max_rate,
    power_splitting,
    power_splitting_at_rate,
    time_switching,
    time_switching_at_rate,
)
from .superposition import SuperpositionDesign, superposition_design
from .sweeps import CrbSweep, crb_sweep, sensing_only_design, with_sensing_snr

__all__ = [
    # scenario and channels
    "BistaticScenario",
    "path_loss",
    "rician_channel",
    # bounds and metrics
    "crb_doa",
    "fisher_information",
    "doa_information",
    "beam_gains",
    "communication_sinr",
    "communication_rate",
    # designs
    "minimize_crb",
    "mrt_covariance",
    "gaussian_isac_beamformer",
    "superposition_design",
    "SuperpositionDesign",
    "sca_superposition",
    # benchmarks, boundaries and sweeps
    "SchemeDesign",
    "max_rate",
    "time_switching",
    "time_switching_at_rate",
    "power_splitting",
    "power_splitting_at_rate",
    "ParetoFront",
    "crb_rate_boundary",
    "average_boundary",
    "CrbSweep",
    "crb_sweep",
    "sensing_only_design",
    "with_sensing_snr",
    # estimation
    "EchoSamples",
    "DoaMseResult",
    "simulate_echoes",
    "sensing_sequence",
    "doa_mse",
    "DoaEstimate",
    "estimate_doa",
]
