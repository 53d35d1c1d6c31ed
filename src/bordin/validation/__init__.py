"""bordin.validation: independent generators of alliance with known ruptures, and yardsticks.

Structurally different generating processes (:mod:`bordin.validation.generators`), the best
simple rules tuned on each generator's own data (:mod:`bordin.validation.oracle`) and the
evaluation of every rupture detector against both (:mod:`bordin.validation.evaluate`). The
package never imports :mod:`bordin.simulate`: the point is data the project's own simulator
did not make. See ``docs/feedback-validation.md``.
"""

from bordin.validation.evaluate import (
    FLOORS,
    HELD_OUT_FLOORS,
    HELD_OUT_SEEDS,
    TABLE_COLUMNS,
    TARGET,
    Draws,
    FamilyResult,
    Floor,
    evaluate_calm,
    evaluate_clinic,
    evaluate_family,
)
from bordin.validation.generators import (
    FAMILY,
    FamilySetting,
    GeneratedClinic,
    Generator,
    ar1_trait,
    ceiling_items,
    heavy_tailed,
    random_walk,
    sparse_ar1,
    trait_blocks,
)
from bordin.validation.oracle import (
    OracleResult,
    OracleRule,
    blend_drops,
    oracle_events,
    tune_blend_rule,
    tune_previous_rule,
)

__all__ = [
    "Draws",
    "FAMILY",
    "FLOORS",
    "FamilyResult",
    "FamilySetting",
    "Floor",
    "GeneratedClinic",
    "Generator",
    "HELD_OUT_FLOORS",
    "HELD_OUT_SEEDS",
    "OracleResult",
    "OracleRule",
    "TABLE_COLUMNS",
    "TARGET",
    "ar1_trait",
    "blend_drops",
    "ceiling_items",
    "evaluate_calm",
    "evaluate_clinic",
    "evaluate_family",
    "heavy_tailed",
    "oracle_events",
    "random_walk",
    "sparse_ar1",
    "trait_blocks",
    "tune_blend_rule",
    "tune_previous_rule",
]
