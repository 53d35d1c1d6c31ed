"""Meta-analysis that matches R's metafor (issues 4 and 20).

Effect sizes (:func:`compute_effect_sizes`; two-group SMD, MD, ROM, RR, OR:
:func:`compute_group_effect_sizes`), fixed- and random-effects models
(:func:`random_effects_meta`), Q-profile intervals for tau^2 and I^2 (:func:`tau2_confint`),
Egger's test (:func:`egger_test`), trim and fill (:func:`trim_and_fill`), leave-one-out
(:func:`leave_one_out`), meta-regression on continuous and categorical moderators
(:func:`fit_meta_regression`, with predictions), the whole pipeline with metafor-named JSON
(:func:`analyse_correlations`) and per-therapist or per-site correlations from clinic data
(:func:`correlations_by_group`), compared with Flückiger et al. (2018). Three-level models
for effects nested in studies (:func:`fit_multilevel_meta`, metafor's ``rma.mv``), their
profile-likelihood intervals (:func:`sigma2_confint`) and cluster-robust CR2 tests
(:func:`robust_cr2`, clubSandwich) (issue 20).
"""

from bordin.analytics.meta_analysis._fit import FitControl, Method, Test
from bordin.analytics.meta_analysis.analysis import (
    CorrelationMetaAnalysis,
    analyse_correlations,
    analyse_effect_sizes,
)
from bordin.analytics.meta_analysis.bias import (
    EggerResult,
    TrimFillResult,
    egger_test,
    trim_and_fill,
)
from bordin.analytics.meta_analysis.clinic import (
    FLUCKIGER_2018,
    BenchmarkCorrelation,
    GroupCorrelations,
    correlations_by_group,
    outcome_direction,
)
from bordin.analytics.meta_analysis.confint import Tau2ConfintResult, tau2_confint
from bordin.analytics.meta_analysis.effect_sizes import (
    EffectSizes,
    Measure,
    compute_effect_sizes,
    z_to_r,
)
from bordin.analytics.meta_analysis.escalc import (
    GroupEffectSizes,
    GroupMeasure,
    compute_group_effect_sizes,
)
from bordin.analytics.meta_analysis.influence import LeaveOneOutResult, leave_one_out
from bordin.analytics.meta_analysis.model import MetaResult, random_effects_meta
from bordin.analytics.meta_analysis.multilevel import (
    MultilevelMetaResult,
    MultilevelMethod,
    MultilevelTest,
    fit_multilevel_meta,
)
from bordin.analytics.meta_analysis.multilevel_confint import (
    Sigma2ConfintResult,
    sigma2_confint,
)
from bordin.analytics.meta_analysis.prediction import MetaPredictionResult
from bordin.analytics.meta_analysis.regression import (
    MetaRegressionResult,
    fit_meta_regression,
)
from bordin.analytics.meta_analysis.robust import RobustMetaResult, robust_cr2

__all__ = [
    "BenchmarkCorrelation",
    "CorrelationMetaAnalysis",
    "EffectSizes",
    "EggerResult",
    "FLUCKIGER_2018",
    "FitControl",
    "GroupCorrelations",
    "GroupEffectSizes",
    "GroupMeasure",
    "LeaveOneOutResult",
    "Measure",
    "MetaPredictionResult",
    "MetaRegressionResult",
    "MetaResult",
    "Method",
    "MultilevelMetaResult",
    "MultilevelMethod",
    "MultilevelTest",
    "RobustMetaResult",
    "Sigma2ConfintResult",
    "Tau2ConfintResult",
    "Test",
    "TrimFillResult",
    "analyse_correlations",
    "analyse_effect_sizes",
    "compute_effect_sizes",
    "compute_group_effect_sizes",
    "correlations_by_group",
    "egger_test",
    "fit_meta_regression",
    "fit_multilevel_meta",
    "leave_one_out",
    "outcome_direction",
    "random_effects_meta",
    "robust_cr2",
    "sigma2_confint",
    "tau2_confint",
    "trim_and_fill",
    "z_to_r",
]
