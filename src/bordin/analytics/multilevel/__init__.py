"""Lagged within/between linear mixed models (does alliance precede symptom change?).

The engine is the profiled (RE)ML deviance of Bates, Maechler, Bolker & Walker (2015),
written here and vectorised over clients, validated against lme4. It does not wrap
statsmodels' ``MixedLM``: on the shared 400-client reference panel that failed to converge,
gave a different answer from lme4 and took about 50 times lme4's time.
"""

from __future__ import annotations

from .fitting import MixedDesign, MixedModelFit, fit_lmm
from .lagged import LaggedModelResult, fit_lagged_model
from .prepare import LaggedDesign, prepare_lagged_design
from .ranef import RandomEffectsResult, predict_random_effects
from .satterthwaite import SatterthwaiteResult, infer_fixed_effects, infer_fixed_effects_at

__all__ = [
    "LaggedDesign",
    "LaggedModelResult",
    "MixedDesign",
    "MixedModelFit",
    "RandomEffectsResult",
    "SatterthwaiteResult",
    "fit_lagged_model",
    "fit_lmm",
    "infer_fixed_effects",
    "infer_fixed_effects_at",
    "predict_random_effects",
    "prepare_lagged_design",
]
