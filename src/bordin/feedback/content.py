"""Clinical support content: what each alert suggests, and the literature behind it.

Written by the Bordin project from the cited literature (paraphrased, not quoted). It
supports clinical judgement; it never diagnoses and never replaces the clinic's protocols.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Final

__all__ = [
    "REFERENCES",
    "SUGGESTIONS",
    "detector_references",
    "references_for",
    "suggestions_for",
]

REFERENCES: Final[dict[str, str]] = {
    "eubanks2018": (
        "Eubanks, C. F., Muran, J. C., & Safran, J. D. (2018). Alliance rupture repair: "
        "A meta-analysis. Psychotherapy, 55(4), 508-519. doi:10.1037/pst0000185"
    ),
    "safran2000": (
        "Safran, J. D., & Muran, J. C. (2000). Negotiating the therapeutic alliance: "
        "A relational treatment guide. New York: Guilford Press."
    ),
    "safran2011": (
        "Safran, J. D., Muran, J. C., & Eubanks-Carter, C. (2011). Repairing alliance "
        "ruptures. Psychotherapy, 48(1), 80-87. doi:10.1037/a0022140"
    ),
    "zilchamano2017": (
        "Zilcha-Mano, S. (2017). Is the alliance really therapeutic? Revisiting this "
        "question in light of recent methodological advances. American Psychologist, 72(4), "
        "311-325. doi:10.1037/a0040435"
    ),
    "lambert2018": (
        "Lambert, M. J., Whipple, J. L., & Kleinstäuber, M. (2018). Collecting and "
        "delivering progress feedback: A meta-analysis of routine outcome monitoring. "
        "Psychotherapy, 55(4), 520-537. doi:10.1037/pst0000167"
    ),
    "finch2001": (
        "Finch, A. E., Lambert, M. J., & Schaalje, B. G. (2001). Psychotherapy quality "
        "control: The statistical generation of expected recovery curves for integration "
        "into an early warning system. Clinical Psychology & Psychotherapy, 8(4), 231-242. "
        "doi:10.1002/cpp.286"
    ),
    "gumz2012": (
        "Gumz, A., Kästner, D., Geyer, M., Wutzler, U., Villmann, T., & Brähler, E. (2012). "
        "Course of the therapeutic alliance and ruptures in psychodynamic psychotherapy. "
        "Frontiers in Psychology, 3."
    ),
    "strauss2006": (
        "Strauss, J. L., Hayes, A. M., Johnson, S. L., et al. (2006). Early alliance, "
        "alliance ruptures, and symptom change in a nonrandomized trial of cognitive "
        "therapy for avoidant and obsessive-compulsive personality disorders. Journal of "
        "Consulting and Clinical Psychology, 74(2), 337-345. doi:10.1037/0022-006X.74.2.337"
    ),
    "stiles2004": (
        "Stiles, W. B., Glick, M. J., Osatuke, K., et al. (2004). Patterns of alliance "
        "development and the rupture-repair hypothesis: Are productive relationships "
        "U-shaped or V-shaped? Journal of Counseling Psychology, 51(1), 81-92. "
        "doi:10.1037/0022-0167.51.1.81"
    ),
    "mclaughlin2014": (
        "McLaughlin, A. A., Keller, S. M., Feeny, N. C., Youngstrom, E. A., & Zoellner, "
        "L. A. (2014). Patterns of therapeutic alliance: Rupture-repair episodes in "
        "prolonged exposure for posttraumatic stress disorder. Journal of Consulting and "
        "Clinical Psychology, 82(1), 112-121. doi:10.1037/a0034696"
    ),
    "jacobson1991": (
        "Jacobson, N. S., & Truax, P. (1991). Clinical significance: A statistical approach "
        "to defining meaningful change in psychotherapy research. Journal of Consulting and "
        "Clinical Psychology, 59(1), 12-19. doi:10.1037/0022-006X.59.1.12"
    ),
    "kroenke2001": (
        "Kroenke, K., Spitzer, R. L., & Williams, J. B. W. (2001). The PHQ-9: Validity of a "
        "brief depression severity measure. Journal of General Internal Medicine, 16(9), "
        "606-613. doi:10.1046/j.1525-1497.2001.016009606.x"
    ),
    "simon2013": (
        "Simon, G. E., Rutter, C. M., Peterson, D., et al. (2013). Does response on the "
        "PHQ-9 Depression Questionnaire predict subsequent suicide attempt or suicide death? "
        "Psychiatric Services, 64(12), 1195-1202. doi:10.1176/appi.ps.201200587"
    ),
    "tryon2008": (
        "Tryon, G. S., Blackwell, S. C., & Hammel, E. F. (2008). The magnitude of client and "
        "therapist working alliance ratings. Psychotherapy: Theory, Research, Practice, "
        "Training, 45(4), 546-551."
    ),
    "fluckiger2018": (
        "Flückiger, C., Del Re, A. C., Wampold, B. E., & Horvath, A. O. (2018). The alliance "
        "in adult psychotherapy: A meta-analytic synthesis. Psychotherapy, 55(4), 316-340. "
        "doi:10.1037/pst0000172"
    ),  # the adaptive rupture detector's method (bordin.feedback._adaptive)
    "dempster1977": (
        "Dempster, A. P., Laird, N. M., & Rubin, D. B. (1977). Maximum likelihood from "
        "incomplete data via the EM algorithm. Journal of the Royal Statistical Society B, "
        "39(1), 1-38."
    ),
    "peel2000": (
        "Peel, D., & McLachlan, G. J. (2000). Robust mixture modelling using the t "
        "distribution. Statistics and Computing, 10, 339-348. doi:10.1023/A:1008981510081"
    ),
    "efron2004": (
        "Efron, B. (2004). Large-scale simultaneous hypothesis testing: The choice of a null "
        "hypothesis. Journal of the American Statistical Association, 99(465), 96-104. "
        "doi:10.1198/016214504000000089"
    ),
}

SUGGESTIONS: Final[dict[str, tuple[str, ...]]] = {
    "risk": (
        "Review risk with the client per your clinic's protocol before or at the start of "
        "the next contact.",
        "Record what you did and the plan agreed, and involve your supervisor or duty "
        "clinician as your protocol requires.",
    ),
    "rupture_bond": (
        "Attend to the relationship itself: invite the client to say how the last session "
        "felt, and listen without defending.",
        "Empathise with the client's experience of you, and acknowledge your part in what "
        "happened.",
        "Explore what was going on between you (metacommunication) rather than pressing on "
        "with the planned work.",
    ),
    "rupture_goal": (
        "Check whether you and the client still agree on what therapy is for; restate and, "
        "if needed, renegotiate the goals together.",
        "Explain the rationale linking the work to the client's goals, and invite disagreement.",
    ),
    "rupture_task": (
        "Ask how the client experiences the tasks of therapy (homework, exercises, focus of "
        "sessions); renegotiate or change tasks that do not fit.",
        "Explain the rationale for the tasks and agree together what to try next.",
    ),
    "rupture_total": (
        "Ask the client how the work together is going, and listen for disagreement or distance.",
        "Empathise, acknowledge your part, and renegotiate goals or tasks where they do not fit.",
    ),
    "marker_withdrawal": (
        "Withdrawal markers (holding back, deferring, minimal responses): gently name what "
        "you notice and make it safe to voice hesitations or negative feelings about therapy.",
        "Follow the client's lead towards what they want, and validate their pace.",
    ),
    "marker_confrontation": (
        "Confrontation markers (complaints, tension, feeling criticised): stay "
        "non-defensive, let the client voice the complaint fully, and find the part you can "
        "agree with.",
        "Acknowledge your contribution explicitly; avoid justifying or interpreting it away.",
    ),
    "weak_early_alliance": (
        "Take a bond-focused stance: warmth, validation and attunement before technique.",
        "Ask about the client's expectations of therapy and of you, and agree goals "
        "collaboratively.",
        "Be especially attentive with clients who find trust hard (attachment insecurity); "
        "early alliance is harder for them to form.",
    ),
    "not_on_track": (
        "Review progress with the client: show the chart and ask how they see it.",
        "Consider a change of approach, intensity or focus, and check alliance, motivation, "
        "social support and life events (clinical support tools).",
        "Discuss the case in supervision.",
    ),
    "reliable_deterioration": (
        "Review with the client what has changed since intake, including life events and "
        "the therapy itself.",
        "Consider a change of approach and discuss the case in supervision.",
    ),
    "uninformative_ratings": (
        "Ratings at the top of the scale, or unchanging, cannot show ruptures: tell the "
        "client that honest, critical feedback helps and will not offend you.",
        "Ask one specific question about the last session (what was least helpful?).",
    ),
}

_REFS_FOR: Final[dict[str, tuple[str, ...]]] = {
    "risk": ("kroenke2001", "simon2013"),
    "rupture_open": ("eubanks2018", "safran2000", "safran2011", "gumz2012"),
    "rupture_unrepaired": ("eubanks2018", "safran2000", "safran2011", "mclaughlin2014"),
    "weak_early_alliance": ("zilchamano2017", "fluckiger2018"),
    "not_on_track": ("finch2001", "lambert2018"),
    "reliable_deterioration": ("jacobson1991", "lambert2018"),
    "uninformative_ratings": ("tryon2008",),
}


@lru_cache(maxsize=256)
def suggestions_for(
    kind: str, component: str = "total", marker: str = "unknown"
) -> tuple[str, ...]:
    """Suggestions for an alert kind; ruptures get the component's and the marker's."""
    if kind.startswith("rupture"):
        out = SUGGESTIONS[f"rupture_{component}"]
        if marker in ("withdrawal", "confrontation"):
            out = out + SUGGESTIONS[f"marker_{marker}"]
        return out
    return SUGGESTIONS.get(kind, ())


#: The method behind each rupture detector's evidence, cited beside a rupture alert's
#: clinical literature. The adaptive detector's evidence is the posterior probability of
#: the drop component of a two-component mixture fitted by EM on the clinic's ratings;
#: the fixed-constant detector's is a drop in the clinic's within-client SD units.
_DETECTOR_REFS: Final[dict[str, tuple[str, ...]]] = {
    "adaptive": ("dempster1977", "peel2000", "efron2004"),
    "bordin": (),
}


@lru_cache(maxsize=8)
def detector_references(detector: str) -> tuple[str, ...]:
    """Full citations of the method behind a rupture detector's evidence."""
    return tuple(REFERENCES[key] for key in _DETECTOR_REFS.get(detector, ()))


@lru_cache(maxsize=64)
def references_for(kind: str) -> tuple[str, ...]:
    """Full citations for an alert kind."""
    return tuple(REFERENCES[key] for key in _REFS_FOR.get(kind, ()))
