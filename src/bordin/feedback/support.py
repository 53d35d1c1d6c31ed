"""Clinical support when a client is not on track (after Lambert's Clinical Support Tools).

Routine outcome feedback helps most for clients who are not on track, and more when the
alert comes with a structured look at why: the Clinical Support Tools ask about the
alliance, motivation and readiness for change, social support and life events, and point
the therapist to what to consider for each flagged domain (Whipple et al., 2003;
Shimokawa, Lambert & Smart, 2010). Bordin adds the client's wish for a change of approach
(clients' preferences matter for outcome and dropout; Swift & Callahan, 2009).

When a client's latest outcome colour is red (not on track; see
:mod:`bordin.feedback.trajectories`), :func:`needs_support_check` says the next form should
add the Clinical Support Check (``csc``). :func:`flag_support_domains` reads its scores and
returns, per domain, whether it is flagged (the cutoffs in the instrument definition,
project defaults) and what to consider, with sources. Bordin never diagnoses: a flag is a
topic to talk about, not a finding.

References
----------
Whipple, J. L., Lambert, M. J., Vermeersch, D. A., Smart, D. W., Nielsen, S. L., & Hawkins,
E. J. (2003). Improving the effects of psychotherapy: The use of early identification of
treatment failure and problem-solving strategies in routine practice. Journal of
Counseling Psychology, 50(1), 59-68. doi:10.1037/0022-0167.50.1.59
Shimokawa, K., Lambert, M. J., & Smart, D. W. (2010). Enhancing treatment outcome of patients
at risk of treatment failure: Meta-analytic and mega-analytic review of a psychotherapy
quality assurance system. Journal of Consulting and Clinical Psychology, 78(3), 298-311.
doi:10.1037/a0019247
Swift, J. K., & Callahan, J. L. (2009). The impact of client treatment preferences on
outcome: A meta-analysis. Journal of Clinical Psychology, 65(4), 368-381.
doi:10.1002/jclp.20553
Norcross, J. C., Krebs, P. M., & Prochaska, J. O. (2011). Stages of change. Journal of
Clinical Psychology, 67(2), 143-154. doi:10.1002/jclp.20758
Safran, J. D., & Muran, J. C. (2000). Negotiating the therapeutic alliance. Guilford Press.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Final

import pandas as pd

from bordin.errors import InputError

__all__ = [
    "NOT_ON_TRACK_COLOURS",
    "SUPPORT_DOMAINS",
    "SUPPORT_INSTRUMENT",
    "SupportDomain",
    "flag_support_domains",
    "needs_support_check",
]

SUPPORT_INSTRUMENT: Final = "csc"
#: outcome colours that count as not on track: red, above the upper prediction limit of the
#: expected curve (:mod:`bordin.feedback.trajectories`; Finch, Lambert & Schaalje, 2001).
#: Lambert's system also gave yellow signals the support tools; Bordin's yellow (below the
#: expected curve, within the limit) is too frequent to add a questionnaire each time.
NOT_ON_TRACK_COLOURS: Final = ("red",)

_WHIPPLE: Final = (
    "Whipple, J. L., Lambert, M. J., Vermeersch, D. A., Smart, D. W., Nielsen, S. L., & "
    "Hawkins, E. J. (2003). Improving the effects of psychotherapy: The use of early "
    "identification of treatment failure and problem-solving strategies in routine practice. "
    "Journal of Counseling Psychology, 50(1), 59-68. doi:10.1037/0022-0167.50.1.59"
)
_SHIMOKAWA: Final = (
    "Shimokawa, K., Lambert, M. J., & Smart, D. W. (2010). Enhancing treatment outcome of "
    "patients at risk of treatment failure. Journal of Consulting and Clinical Psychology, "
    "78(3), 298-311. doi:10.1037/a0019247"
)
_SWIFT: Final = (
    "Swift, J. K., & Callahan, J. L. (2009). The impact of client treatment preferences on "
    "outcome: A meta-analysis. Journal of Clinical Psychology, 65(4), 368-381. "
    "doi:10.1002/jclp.20553"
)
_NORCROSS: Final = (
    "Norcross, J. C., Krebs, P. M., & Prochaska, J. O. (2011). Stages of change. Journal of "
    "Clinical Psychology, 67(2), 143-154. doi:10.1002/jclp.20758"
)
_SAFRAN: Final = (
    "Safran, J. D., & Muran, J. C. (2000). Negotiating the therapeutic alliance: A relational "
    "treatment guide. Guilford Press."
)

#: domain (a csc scale) -> (label, considerations, references)
SUPPORT_DOMAINS: Final[dict[str, tuple[str, tuple[str, ...], tuple[str, ...]]]] = {
    "alliance": (
        "The alliance",
        (
            "Ask directly how the work together is going, and what would make it better.",
            "Check agreement on goals and tasks; renegotiate them if they no longer fit.",
            "Look for ruptures and repair them: empathise, take responsibility for your part.",
        ),
        (_WHIPPLE, _SHIMOKAWA, _SAFRAN),
    ),
    "motivation": (
        "Motivation and readiness for change",
        (
            "Consider where the client stands on change, and match the work to it (exploring "
            "ambivalence before action).",
            "Review whether the goals are the client's own.",
        ),
        (_WHIPPLE, _SHIMOKAWA, _NORCROSS),
    ),
    "social_support": (
        "Social support",
        (
            "Map who the client can turn to, and what gets in the way of asking.",
            "Consider involving people close to the client, or community and peer resources.",
        ),
        (_WHIPPLE, _SHIMOKAWA),
    ),
    "life_events": (
        "Recent life events and strain",
        (
            "Ask what has happened and how it bears on the goals of therapy.",
            "Consider problem-solving for practical stressors, and check safety.",
        ),
        (_WHIPPLE, _SHIMOKAWA),
    ),
    "change_wish": (
        "Wish for a change of approach",
        (
            "Ask what the client would prefer, and weigh a change of approach, format or "
            "frequency with them.",
            "Consider a consultation or a referral (for example for a medication review) if "
            "the current approach does not fit.",
        ),
        (_WHIPPLE, _SHIMOKAWA, _SWIFT),
    ),
}


@dataclass(frozen=True)
class SupportDomain:
    """One domain of the Clinical Support Check at one session.

    Attributes
    ----------
    domain
        The csc scale name (``alliance``, ``motivation``, ``social_support``,
        ``life_events``, ``change_wish``).
    label
        Its readable name.
    score
        The scale score (None when not scored).
    flagged
        Whether the score is past the domain's cutoff (project default, not validated).
    cutoff
        The cutoff as text, e.g. ``< 3``.
    considerations
        What to consider (empty when not flagged).
    references
        The sources of the considerations.
    """

    domain: str
    label: str
    score: float | None
    flagged: bool
    cutoff: str
    considerations: tuple[str, ...]
    references: tuple[str, ...]

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready."""
        return {
            "domain": self.domain,
            "label": self.label,
            "score": self.score,
            "flagged": self.flagged,
            "cutoff": self.cutoff,
            "considerations": list(self.considerations),
            "references": list(self.references),
        }


def needs_support_check(colours: Iterable[str | None]) -> bool:
    """Whether the next form should add the Clinical Support Check: the latest outcome
    colour of any outcome measure (``colours``, one per measure, None when not yet
    coloured) is red (not on track; Whipple et al., 2003)."""
    return any(c in NOT_ON_TRACK_COLOURS for c in colours if c is not None)


def flag_support_domains(scores: Mapping[str, Any] | pd.Series) -> tuple[SupportDomain, ...]:
    """The Clinical Support Check's domains at one session, flagged or not, with what to
    consider for each flagged one.

    Parameters
    ----------
    scores
        One session's scores: ``csc_alliance``, ``csc_motivation``,
        ``csc_social_support``, ``csc_life_events``, ``csc_change_wish`` (missing or NaN
        when not scored).

    Raises
    ------
    InputError
        A score outside its scale's range (naming the column).

    Examples
    --------
    >>> domains = flag_support_domains({"csc_alliance": 4.5, "csc_change_wish": 3})
    >>> [d.domain for d in domains if d.flagged]
    ['change_wish']
    """
    from bordin.instruments import get_instrument, score_column

    definition = get_instrument(SUPPORT_INSTRUMENT)
    out = []
    for domain, (label, considerations, references) in SUPPORT_DOMAINS.items():
        scale = definition.scale(domain)
        column = definition.column(domain)
        raw = scores.get(column)
        value = None if raw is None or pd.isna(raw) else float(raw)
        info = score_column(column)
        if value is not None and info is not None and not info.minimum <= value <= info.maximum:
            raise InputError(
                f"{value:g} is outside {info.minimum:g}-{info.maximum:g}", column=column
            )
        cutoff = scale.cutoff
        if cutoff is None:  # pragma: no cover - every csc scale has one (tested)
            raise InputError(f"{column} has no cutoff", column=column)
        flagged = value is not None and _past(value, cutoff.case_if, cutoff.value)
        out.append(
            SupportDomain(
                domain=domain,
                label=label,
                score=value,
                flagged=flagged,
                cutoff=f"{cutoff.case_if} {cutoff.value:g}",
                considerations=considerations if flagged else (),
                references=references,
            )
        )
    return tuple(out)


def _past(value: float, case_if: str, cutoff: float) -> bool:
    return {
        "<": value < cutoff,
        "<=": value <= cutoff,
        ">": value > cutoff,
        ">=": value >= cutoff,
    }[case_if]
