"""beamopt: optimization-focused beamforming solvers for integrated sensing and communication.

The public API is flat: everything a user needs is importable from ``beamopt``.
Heavy dependencies (cvxpy, pymanopt, torch, matplotlib) are imported only by the
functions that need them, so ``import beamopt`` stays fast.
"""

from __future__ import annotations

# --- foundation: arrays, channels, scenario, CRBs, designs (issue 2)
from .arrays import element_positions as element_positions
from .arrays import steering_vector as steering_vector
from .arrays import steering_vector_derivative as steering_vector_derivative
from .channels import db_to_linear as db_to_linear
from .channels import dbm_to_watt as dbm_to_watt
from .channels import linear_to_db as linear_to_db
from .channels import path_loss as path_loss
from .channels import rician_channel as rician_channel
from .closed_form import gaussian_isac_beamformer as gaussian_isac_beamformer
from .closed_form import mrt_covariance as mrt_covariance
from .comm import communication_rate as communication_rate
from .comm import communication_sinr as communication_sinr
from .crb import beam_gains as beam_gains
from .crb import crb_doa as crb_doa
from .crb import doa_information as doa_information
from .crb import fisher_information as fisher_information
from .design import minimize_crb as minimize_crb
from .errors import InfeasibleError as InfeasibleError
from .errors import SolverError as SolverError
from .result import BeamformingResult as BeamformingResult
from .result import PrecoderResult as PrecoderResult
from .result import SolverResult as SolverResult
from .scenario import BistaticScenario as BistaticScenario

# --- issue 3a: superposition design (global search, SCA)
from .sca import sca_superposition as sca_superposition
from .superposition import SuperpositionDesign as SuperpositionDesign
from .superposition import superposition_design as superposition_design

# --- issue 3b: benchmark schemes, boundaries, plots
from . import plots as plots
from .boundary import ParetoFront as ParetoFront
from .boundary import average_boundary as average_boundary
from .boundary import crb_rate_boundary as crb_rate_boundary
from .schemes import SchemeDesign as SchemeDesign
from .schemes import max_rate as max_rate
from .schemes import power_splitting as power_splitting
from .schemes import power_splitting_at_rate as power_splitting_at_rate
from .schemes import time_switching as time_switching
from .schemes import time_switching_at_rate as time_switching_at_rate
from .sweeps import CrbSweep as CrbSweep
from .sweeps import crb_sweep as crb_sweep
from .sweeps import sensing_only_design as sensing_only_design
from .sweeps import with_sensing_snr as with_sensing_snr

# --- issue 3c: DoA estimators and Monte Carlo
from .echoes import DoaMseResult as DoaMseResult
from .echoes import EchoSamples as EchoSamples
from .echoes import doa_mse as doa_mse
from .echoes import sensing_sequence as sensing_sequence
from .echoes import simulate_echoes as simulate_echoes
from .estimation import DoaEstimate as DoaEstimate
from .estimation import estimate_doa as estimate_doa

# --- posterior samplers and Bayesian precoders (issue 4)
from .gaussian_posterior import GaussianPosterior as GaussianPosterior
from .manifold import manifold_precoder as manifold_precoder
from .manifold import manifold_problem as manifold_problem
from .mixture_posterior import GaussianMixturePosterior as GaussianMixturePosterior
from .observation import LinearObservation as LinearObservation
from .observation import comb_mask as comb_mask
from .observation import hopping_mask as hopping_mask
from .precoders import cme_precoder as cme_precoder
from .precoders import expected_gramian as expected_gramian
from .precoders import expected_gramian_precoder as expected_gramian_precoder
from .precoders import gramian_precoder as gramian_precoder
from .precoders import spectral_efficiency as spectral_efficiency
from .sampling import PosteriorSampler as PosteriorSampler
from .sampling import as_sampler as as_sampler

__version__ = "0.1.0"
