"""The tolerance policy for comparisons against reference implementations (STYLE.md).

Closed forms agree to 1e-9 relative; iterative estimators to 1e-6. A test that needs a
looser tolerance defines it next to the comparison with a comment saying why.
"""

from __future__ import annotations

from typing import Final

CLOSED_FORM_RTOL: Final = 1e-9
ITERATIVE_RTOL: Final = 1e-6
# Issue 5 fixes these for the panel model against lme4 (its optimiser stops at ~1e-6 on the
# deviance, so parameters agree to about 1e-5 and variance components to about 1e-4).
LMM_FIXED_RTOL: Final = 1e-5
LMM_VARCOMP_RTOL: Final = 1e-4
LMM_LOGLIK_ATOL: Final = 1e-4
