r"""Score-based ISAC metrics: score matching for parameters, Bayesian FIM/BCRB, MMSE, KLD and MI.

Implements the framework of "Scoring ISAC: Score-based ISAC performance evaluation": learn
the scores a metric needs from samples (ISM/SSM/DSM/FSM), then evaluate the Bayesian FIM and
BCRB, MMSE estimators, and KL divergence / mutual information from them, each with its
Monte Carlo standard error and, for a seed ensemble (`n_seeds=`), the between-seed spread.
torch is imported only by `score_matching` (lazily here).
"""

from __future__ import annotations

from .._lazy import lazy_attributes as _lazy_attributes

_LAZY: dict[str, str] = {
    "DEFAULT_CONFIG": "score_matching",
    "ParameterScore": "score_matching",
    "ParameterScoreNet": "score_matching",
    "train_parameter_score": "score_matching",
    "train_fisher_score": "score_matching",
    "ScoreEnsemble": "ensemble",
    "FisherEstimate": "fim",
    "FIM_METHODS": "fim",
    "score_fim": "fim",
    "BoundEstimate": "fim",
    "fisher_from_scores": "fim",
    "expected_fim": "fim",
    "gaussian_fim": "fim",
    "bayesian_fim": "fim",
    "bcrb": "fim",
    "tweedie_estimate": "mmse",
    "gaussian_denoiser": "mmse",
    "score_denoiser": "mmse",
    "TurboResult": "mmse",
    "turbo_message_passing": "mmse",
    "MMSEEstimate": "mmse",
    "mmse_monte_carlo": "mmse",
    "InformationEstimate": "information",
    "kl_divergence": "information",
    "mutual_information": "information",
    "NearFieldArray": "nearfield",
    "detection_probability": "nearfield",
    "swerling_kld_per_snapshot": "nearfield",
    "swerling_kld": "nearfield",
    "BCRBDesign": "design",
    "data_fim_operator": "design",
    "fim_of_covariance": "design",
    "minimize_bcrb_trace": "design",
    "bcrb_gradient": "design",
}

__all__ = sorted(_LAZY)

__getattr__, __dir__ = _lazy_attributes(__name__, globals(), _LAZY)
