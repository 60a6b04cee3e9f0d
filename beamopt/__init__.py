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

# --- CRB-rate tradeoff: superposition design, benchmarks, estimators (issue 3)

# --- posterior samplers and Bayesian precoders (issue 4)

__version__ = "0.1.0"
