"""beamopt: optimization-focused beamforming solvers for integrated sensing and communication.

The public API is flat: everything a user needs is importable from `beamopt`. The code
lives in one subpackage per family (`bistatic`, `posterior`, `precoding`, `score`,
`beampattern`, `channels`, `metrics`) on a shared foundation (steering vectors, units,
result types, errors).
Heavy dependencies (cvxpy, pymanopt, torch, matplotlib) are imported only by the functions
that need them, so `import beamopt` stays fast; the names that need torch (score models,
end-to-end learning) are loaded on first access.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ._lazy import lazy_attributes as _lazy_attributes
from ._version import __version__ as __version__

# --- foundation: arrays, units, results, errors
from .arrays import element_positions as element_positions
from .arrays import steering_vector as steering_vector
from .arrays import steering_vector_derivative as steering_vector_derivative
from .errors import InfeasibleError as InfeasibleError
from .errors import SolverError as SolverError
from .result import BeamformingResult as BeamformingResult
from .result import PrecoderResult as PrecoderResult
from .result import SolverResult as SolverResult
from .training import TrainingHistory as TrainingHistory
from .training import TrainingWarning as TrainingWarning
from .units import db_to_linear as db_to_linear
from .units import dbm_to_watt as dbm_to_watt
from .units import watt_to_dbm as watt_to_dbm
from .units import linear_to_db as linear_to_db

# --- bistatic ISAC: scenario and channels
from .bistatic import BistaticScenario as BistaticScenario
from .bistatic import path_loss as path_loss
from .bistatic import rician_channel as rician_channel

# --- bistatic ISAC: Cramér-Rao bounds and communication metrics
from .bistatic import beam_gains as beam_gains
from .bistatic import communication_rate as communication_rate
from .bistatic import communication_sinr as communication_sinr
from .bistatic import crb_doa as crb_doa
from .bistatic import doa_information as doa_information
from .bistatic import fisher_information as fisher_information

# --- bistatic ISAC: CRB-minimising designs
from .bistatic import SuperpositionDesign as SuperpositionDesign
from .bistatic import gaussian_isac_beamformer as gaussian_isac_beamformer
from .bistatic import minimize_crb as minimize_crb
from .bistatic import mrt_covariance as mrt_covariance
from .bistatic import sca_superposition as sca_superposition
from .bistatic import superposition_design as superposition_design

# --- bistatic ISAC: benchmark schemes, CRB-rate boundaries, sweeps and figures
from .bistatic import CrbSweep as CrbSweep
from .bistatic import ParetoFront as ParetoFront
from .bistatic import SchemeDesign as SchemeDesign
from .bistatic import average_boundary as average_boundary
from .bistatic import crb_rate_boundary as crb_rate_boundary
from .bistatic import crb_sweep as crb_sweep
from .bistatic import max_rate as max_rate
from . import plots as plots
from .bistatic import power_splitting as power_splitting
from .bistatic import power_splitting_at_rate as power_splitting_at_rate
from .bistatic import sensing_only_design as sensing_only_design
from .bistatic import time_switching as time_switching
from .bistatic import time_switching_at_rate as time_switching_at_rate
from .bistatic import with_sensing_snr as with_sensing_snr

# --- bistatic ISAC: DoA estimation and Monte Carlo
from .bistatic import DoaEstimate as DoaEstimate
from .bistatic import DoaMseResult as DoaMseResult
from .bistatic import EchoSamples as EchoSamples
from .bistatic import doa_mse as doa_mse
from .bistatic import estimate_doa as estimate_doa
from .bistatic import sensing_sequence as sensing_sequence
from .bistatic import simulate_echoes as simulate_echoes

# --- posterior channel samplers
from .posterior import GaussianMixturePosterior as GaussianMixturePosterior
from .posterior import GaussianPosterior as GaussianPosterior
from .posterior import LinearObservation as LinearObservation
from .posterior import PosteriorSampler as PosteriorSampler
from .posterior import as_sampler as as_sampler
from .posterior import CalibrationResult as CalibrationResult
from .posterior import LinearMMSE as LinearMMSE
from .posterior import fit_lmmse as fit_lmmse
from .posterior import posterior_calibration as posterior_calibration
from .posterior import comb_mask as comb_mask
from .posterior import hopping_mask as hopping_mask

# --- Bayesian precoding from posterior samples
from .precoding import cme_precoder as cme_precoder
from .precoding import expected_gramian as expected_gramian
from .precoding import expected_gramian_precoder as expected_gramian_precoder
from .precoding import gramian_precoder as gramian_precoder
from .precoding import manifold_precoder as manifold_precoder
from .precoding import manifold_problem as manifold_problem
from .precoding import spectral_efficiency as spectral_efficiency

# --- beampattern synthesis, ISAC beam mixing, detection and metrics
from .beampattern import CovarianceMatchResult as CovarianceMatchResult
from .beampattern import IsacTradeoff as IsacTradeoff
from .beampattern import SensingReceiver as SensingReceiver
from .beampattern import angle_grid as angle_grid
from .beampattern import covariance_beampattern as covariance_beampattern
from .beampattern import desired_pattern as desired_pattern
from .beampattern import detection_threshold as detection_threshold
from .beampattern import dictionary_correlation as dictionary_correlation
from .beampattern import ideal_positions as ideal_positions
from .beampattern import impaired_positions as impaired_positions
from .beampattern import isac_tradeoff as isac_tradeoff
from .beampattern import ls_beam as ls_beam
from .beampattern import match_covariance_pattern as match_covariance_pattern
from .beampattern import mix_beams as mix_beams
from .beampattern import qam_constellation as qam_constellation
from .beampattern import qam_detect as qam_detect
from .beampattern import random_sectors as random_sectors
from .beampattern import sector_beam as sector_beam
from .beampattern import steering_matrix as steering_matrix

# --- learned score models (torch): training, denoisers, diffusion samplers; loaded lazily
_LAZY_SCORE = (
    "append_noise_level",
    "ScoreConfig",
    "ScoreModel",
    "train_score_model",
    "ChannelEstimator",
    "train_estimator",
    "check_conditioning",
    "ConditioningCheck",
    "denoising_nmse",
    "Denoiser",
    "GaussianDenoiser",
    "GaussianMixtureDenoiser",
    "DiffusionPrior",
    "DiffusionPosterior",
    "ConditionalSampler",
    "tweedie_denoise",
    "posterior_mean",
)

# --- model-driven and neural end-to-end ISAC learning (torch); loaded lazily
_LAZY_BEAMPATTERN = (
    "ModelDrivenISAC",
    "LearnedDictionary",
    "train_model_driven",
    "NeuralISAC",
    "NeuralISACResult",
    "train_neural_isac",
    "neural_isac_tradeoff",
)

# --- 3GPP channel data (sionna) with ageing and SRS observations; loaded lazily
_LAZY_CHANNELS = (
    "ChannelConfig",
    "ChannelDataset",
    "generate_channels",
    "build_dataset",
    "srs_baseline",
    "E2EPrecoder",
    "train_e2e_precoder",
)

# --- score-based ISAC metrics: BCRB, MMSE, KLD and MI from learned scores; loaded lazily
_LAZY_METRICS = (
    "train_parameter_score",
    "train_fisher_score",
    "ParameterScore",
    "ParameterScoreNet",
    "ScoreEnsemble",
    "fisher_from_scores",
    "score_fim",
    "expected_fim",
    "gaussian_fim",
    "bayesian_fim",
    "bcrb",
    "FisherEstimate",
    "BoundEstimate",
    "tweedie_estimate",
    "gaussian_denoiser",
    "score_denoiser",
    "turbo_message_passing",
    "TurboResult",
    "mmse_monte_carlo",
    "MMSEEstimate",
    "kl_divergence",
    "mutual_information",
    "InformationEstimate",
    "NearFieldArray",
    "detection_probability",
    "swerling_kld_per_snapshot",
    "swerling_kld",
    "data_fim_operator",
    "fim_of_covariance",
    "minimize_bcrb_trace",
    "bcrb_gradient",
    "BCRBDesign",
)

_LAZY = {
    **{name: "score" for name in _LAZY_SCORE},
    **{name: "channels" for name in _LAZY_CHANNELS},
    **{name: "metrics" for name in _LAZY_METRICS},
    **{name: "beampattern" for name in _LAZY_BEAMPATTERN},
}


if TYPE_CHECKING:  # the lazy names above, for type checkers and the API docs (never run)
    from .beampattern.autoencoder import NeuralISAC as NeuralISAC
    from .beampattern.autoencoder import NeuralISACResult as NeuralISACResult
    from .beampattern.autoencoder import train_neural_isac as train_neural_isac
    from .beampattern.autoencoder import neural_isac_tradeoff as neural_isac_tradeoff
    from .beampattern.learning import ModelDrivenISAC as ModelDrivenISAC
    from .beampattern.learning import LearnedDictionary as LearnedDictionary
    from .beampattern.learning import train_model_driven as train_model_driven
    from .channels.config import ChannelConfig as ChannelConfig
    from .channels.dataset import ChannelDataset as ChannelDataset
    from .channels.dataset import build_dataset as build_dataset
    from .channels.dataset import srs_baseline as srs_baseline
    from .channels.e2e import E2EPrecoder as E2EPrecoder
    from .channels.e2e import train_e2e_precoder as train_e2e_precoder
    from .channels.generate import generate_channels as generate_channels
    from .metrics.design import data_fim_operator as data_fim_operator
    from .metrics.design import fim_of_covariance as fim_of_covariance
    from .metrics.design import minimize_bcrb_trace as minimize_bcrb_trace
    from .metrics.design import BCRBDesign as BCRBDesign
    from .metrics.design import bcrb_gradient as bcrb_gradient
    from .metrics.ensemble import ScoreEnsemble as ScoreEnsemble
    from .metrics.fim import score_fim as score_fim
    from .metrics.fim import fisher_from_scores as fisher_from_scores
    from .metrics.fim import expected_fim as expected_fim
    from .metrics.fim import gaussian_fim as gaussian_fim
    from .metrics.fim import bayesian_fim as bayesian_fim
    from .metrics.fim import bcrb as bcrb
    from .metrics.fim import FisherEstimate as FisherEstimate
    from .metrics.fim import BoundEstimate as BoundEstimate
    from .metrics.information import kl_divergence as kl_divergence
    from .metrics.information import mutual_information as mutual_information
    from .metrics.information import InformationEstimate as InformationEstimate
    from .metrics.mmse import tweedie_estimate as tweedie_estimate
    from .metrics.mmse import gaussian_denoiser as gaussian_denoiser
    from .metrics.mmse import score_denoiser as score_denoiser
    from .metrics.mmse import turbo_message_passing as turbo_message_passing
    from .metrics.mmse import TurboResult as TurboResult
    from .metrics.mmse import mmse_monte_carlo as mmse_monte_carlo
    from .metrics.mmse import MMSEEstimate as MMSEEstimate
    from .metrics.nearfield import NearFieldArray as NearFieldArray
    from .metrics.nearfield import detection_probability as detection_probability
    from .metrics.nearfield import swerling_kld_per_snapshot as swerling_kld_per_snapshot
    from .metrics.nearfield import swerling_kld as swerling_kld
    from .metrics.score_matching import train_parameter_score as train_parameter_score
    from .metrics.score_matching import train_fisher_score as train_fisher_score
    from .metrics.score_matching import ParameterScore as ParameterScore
    from .metrics.score_matching import ParameterScoreNet as ParameterScoreNet
    from .score.denoiser import Denoiser as Denoiser
    from .score.denoiser import GaussianDenoiser as GaussianDenoiser
    from .score.diagnostics import ConditioningCheck as ConditioningCheck
    from .score.diagnostics import check_conditioning as check_conditioning
    from .score.diagnostics import denoising_nmse as denoising_nmse
    from .score.denoiser import GaussianMixtureDenoiser as GaussianMixtureDenoiser
    from .score.estimator import ChannelEstimator as ChannelEstimator
    from .score.estimator import train_estimator as train_estimator
    from .score.model import ScoreModel as ScoreModel
    from .score.noise_level import append_noise_level as append_noise_level
    from .score.samplers import DiffusionPrior as DiffusionPrior
    from .score.samplers import DiffusionPosterior as DiffusionPosterior
    from .score.samplers import ConditionalSampler as ConditionalSampler
    from .score.training import ScoreConfig as ScoreConfig
    from .score.training import train_score_model as train_score_model
    from .score.tweedie import tweedie_denoise as tweedie_denoise
    from .score.tweedie import posterior_mean as posterior_mean

__getattr__, __dir__ = _lazy_attributes(__name__, globals(), _LAZY)
