"""Every rupture detector and the oracles on every setting of the validation family.

Each detector of :func:`bordin.feedback.detect_ruptures` runs at its defaults
(:class:`bordin.feedback.FeedbackConfig`) on each generated clinic, with the clinic norms
fitted on that clinic (how a clinic uses it), and is scored against the generator's truth
(:func:`bordin.feedback.validation.score_ruptures`: an onset within +-1 session of a true
onset of the same client). Beside it, the oracles of :mod:`bordin.validation.oracle`: the
previous-session and blend rules tuned on the same clinic's truth. ``gap_to_oracle`` is
the best oracle's F1 minus the detector's. The *default* detector is the one that leads
the feedback, ``FeedbackConfig().rupture_detector`` (the adaptive detector); the other of
``adaptive`` and ``bordin`` (the fixed-constant detector) is reported beside it as an
option.
"""

from __future__ import annotations

import dataclasses
import inspect
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Final

import numpy as np
import pandas as pd

from bordin.feedback import DETECTORS, FeedbackConfig, detect_ruptures, fit_clinic_norms
from bordin.feedback.validation import score_ruptures
from bordin.instruments import get_instrument
from bordin.validation.generators import FAMILY, FamilySetting, GeneratedClinic
from bordin.validation.oracle import oracle_events, tune_blend_rule, tune_previous_rule

__all__ = [
    "Draws",
    "FLOORS",
    "FamilyResult",
    "Floor",
    "HELD_OUT_FLOORS",
    "HELD_OUT_SEEDS",
    "TABLE_COLUMNS",
    "TARGET",
    "evaluate_calm",
    "evaluate_clinic",
    "evaluate_family",
]

TABLE_COLUMNS: Final = (
    "setting",
    "detector",
    "n_true",
    "n_detected",
    "precision",
    "recall",
    "f1",
    "oracle_f1",
    "gap_to_oracle",
)
_COMPARED: Final = ("sd_k1", "sd_k2")


@dataclass(frozen=True)
class Floor:
    """What a detector must show across the family.

    Attributes
    ----------
    detector
        ``adaptive`` (the default, ``FeedbackConfig().rupture_detector``) or ``bordin``
        (the fixed-constant detector, an option).
    min_beats_sd
        Settings in which its F1 is higher than both SD criteria's, at least.
    min_close
        Settings in which it is within ``close`` of the oracle's F1, at least.
    max_worst_gap
        The largest gap to the oracle across the family, at most.
    close
        What "close to the oracle" means (F1 points).
    """

    detector: str
    min_beats_sd: int
    min_close: int
    max_worst_gap: float
    close: float = 0.03

    def failures(self, result: FamilyResult) -> list[str]:
        """What the result falls short of (empty when the floor holds)."""
        return self.shortfalls(result.standing(self.detector, close=self.close))

    def shortfalls(self, got: dict[str, Any]) -> list[str]:
        """What a standing (:meth:`FamilyResult.standing` of this floor's detector and
        closeness) falls short of."""
        out = []
        if got["beats_sd"] < self.min_beats_sd:
            out.append(
                f"{self.detector} beats both SD criteria in {got['beats_sd']} settings "
                f"(floor {self.min_beats_sd})"
            )
        if got["close"] < self.min_close:
            out.append(
                f"{self.detector} is within {self.close:g} of the oracle in {got['close']} "
                f"settings (floor {self.min_close})"
            )
        if got["worst_gap"] > self.max_worst_gap:
            out.append(
                f"{self.detector}'s worst gap to the oracle is {got['worst_gap']:.3f} "
                f"(floor {self.max_worst_gap:g})"
            )
        return out


#: The floors the family shows today at the size docs/feedback-validation.md is run at
#: (2000 clients, seeds 101 and 202), a little below the figures so that a change that
#: loses ground fails; ``benchmarks/feedback_validation.py --check-floors`` and the tests
#: check them. Raise them when the detectors improve. Since EM is run to convergence the
#: adaptive detector is within 0.03 of the oracle in all 14 settings with a worst gap of
#: 0.021 (12-item ceiling), so its floor is the issue's target.
FLOORS: Final = (
    Floor("bordin", min_beats_sd=10, min_close=3, max_worst_gap=0.37),
    Floor("adaptive", min_beats_sd=14, min_close=14, max_worst_gap=0.03),
)
#: Seeds that no change of the detectors was developed on (every change was measured on
#: 101 and 202), and the floors the default detector shows on them at the same size, a
#: little below the figures when they were first run (in docs/feedback-validation.md).
#: On 4141 and 4242, first run with the M-step on the drop component's bounds: beats both
#: SD criteria in 14 settings, within 0.03 in 13, worst gap 0.064 (sparse attendance,
#: frequent; 0.066 with the code before the change, a hard draw for that setting), and the
#: same on the next change (each null shape refitted from its own last fit, judged on
#: 4343-4848 and not looked at on these seeds before it was kept). The change after it
#: (every parameter indexed by the client's rating number, judged on 4949-5454) moves only
#: the sparse attendance settings; 4141 was looked at on those for another candidate, not
#: kept, in the same session. With it: beats both SD criteria in 14, within 0.03 in 14,
#: worst gap 0.023 (ceiling, 4 items; sparse attendance, frequent -0.003), the floors
#: raised from 13, 12 and 0.07 to 14, 13 and 0.05. They
#: guard against a change that wins on the development seeds by losing on new draws; a
#: change must not be tuned by looking at them (once it has been, draw new held-out seeds:
#: 303 and 404 were the held-out seeds until the bound on the drop component's depths, 505
#: and 606 until the test of a session number's own residuals, each measured on them
#: before it was kept, 707 and 808, then 909 and 1010, until EM was run to convergence:
#: each pair was run once on a version of that change, and 1111 and 1212 until the shared
#: level, measured on them with every seed of :class:`Draws` before it was kept, and 3333
#: and 3434 until the M-step on the drop component's bounds, 3434 among the seeds it was
#: measured on; their figures for the change as kept are in docs/feedback.md).
HELD_OUT_SEEDS: Final = (4141, 4242)
HELD_OUT_FLOORS: Final = (
    Floor(FeedbackConfig().rupture_detector, min_beats_sd=14, min_close=13, max_worst_gap=0.05),
)
#: The target of the issue that asked for the family: the default detector (the one that
#: leads, ``FeedbackConfig().rupture_detector``) beats both SD criteria and is within 0.03
#: of the oracle on every setting (14 settings). Met on the development seeds (101, 202)
#: since the bound on the drop component's depths, and on the held-out seeds since every
#: parameter was indexed by the client's rating number; not on every draw: on 14 of the
#: 27 pairs of seeds the family has been run on (:class:`Draws`,
#: docs/feedback-validation-draws.md), the 1-SD rule ahead on the random walk with
#: frequent shallow ruptures on 8 of 54 seeds. On the means over the 54 seeds it holds,
#: on that setting by 0.015 (0.719 against the 1-SD rule's 0.704).
TARGET: Final = Floor(
    FeedbackConfig().rupture_detector, min_beats_sd=14, min_close=14, max_worst_gap=0.03
)


def _applicable(clinic: GeneratedClinic, config: FeedbackConfig) -> list[str]:
    """The detectors that can run on this clinic: ``items`` needs rupture items and
    ``reliable_change`` a reliable-change threshold for the alliance total."""
    alliance = clinic.alliance
    has_items = any(
        f"{alliance}_{item}" in clinic.scores.columns
        for item in ("tension", "misunderstood", "withdrawal")
    )
    spec = get_instrument(alliance).scale("total").reliable_change
    has_rc = config.alliance_reliable_change is not None or spec is not None
    return [
        d for d in DETECTORS if (d != "items" or has_items) and (d != "reliable_change" or has_rc)
    ]


def _norms_argument(clinic: GeneratedClinic, config: FeedbackConfig) -> dict[str, Any]:
    """The clinic norms fitted on the clinic itself, passed when the detector takes them
    (without them it pools the clinic's references from the frame it is given)."""
    if "norms" not in inspect.signature(detect_ruptures).parameters:
        return {}
    norms = fit_clinic_norms(clinic.scores, alliance=clinic.alliance, outcomes=(), config=config)
    return {"norms": norms}


def evaluate_clinic(
    clinic: GeneratedClinic, *, config: FeedbackConfig | None = None
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Score every applicable detector and both oracles on one generated clinic.

    Returns
    -------
    detectors
        One row per detector: ``detector`` and the fields of
        :class:`bordin.feedback.validation.RuptureScores`.
    oracles
        One row per oracle rule: the fields of :class:`bordin.validation.oracle.OracleResult`.
    """
    config = config or FeedbackConfig()
    extra = _norms_argument(clinic, config)
    rows = []
    for detector in _applicable(clinic, config):
        events = detect_ruptures(
            clinic.scores,
            alliance=clinic.alliance,
            detector=detector,  # type: ignore[arg-type]
            config=config,
            **extra,
        )
        rows.append({"detector": detector, **score_ruptures(events, clinic.truth).as_dict()})
    column = f"{clinic.alliance}_total"
    oracles = [
        tune_previous_rule(clinic.scores, clinic.truth, column=column).as_dict(),
        tune_blend_rule(clinic.scores, clinic.truth, column=column).as_dict(),
    ]
    return pd.DataFrame(rows), pd.DataFrame(oracles)


@dataclass(frozen=True)
class FamilyResult:
    """Detectors and oracles on the validation family.

    Attributes
    ----------
    table
        One row per setting and detector, means over seeds: :data:`TABLE_COLUMNS`.
    oracles
        One row per setting, seed and oracle rule: its tuned threshold, weight and scores.
    by_setting
        One row per setting: ``default_f1`` and ``gap_to_oracle`` (of the default detector,
        :attr:`default_detector`), ``sd_k1_f1``, ``sd_k2_f1``, ``oracle_f1``, ``bordin_f1``
        and ``bordin_gap_to_oracle`` (the fixed-constant detector), ``adaptive_f1`` and
        ``adaptive_gap_to_oracle`` (the adaptive detector), ``oracle_f1_held_out`` (the
        best oracle rule of one seed applied to another seed's clinic: the oracle without
        its in-sample optimism), ``beats_sd_k1``, ``beats_sd_k2`` (of the default detector)
        and ``description``.
    n_clients, seeds
        Size of each generated clinic and the seeds (one clinic per setting and seed).
    default_detector
        The detector that leads the feedback under the configuration evaluated
        (``config.rupture_detector``): ``adaptive`` or ``bordin``.
    per_seed
        One row per setting, seed and detector: ``setting``, ``seed``, ``detector``, ``f1``,
        ``oracle_f1`` and ``gap_to_oracle``.
    """

    table: pd.DataFrame
    oracles: pd.DataFrame
    by_setting: pd.DataFrame
    n_clients: int
    seeds: tuple[int, ...]
    default_detector: str = "adaptive"
    per_seed: pd.DataFrame | None = None

    def to_frame(self) -> pd.DataFrame:
        """The tidy table (:attr:`table`)."""
        return self.table.copy()

    @property
    def worst_case(self) -> pd.Series:
        """The setting where the default detector is furthest from the oracle."""
        return self.by_setting.loc[self.by_setting["gap_to_oracle"].idxmax()]

    def standing(self, detector: str | None = None, *, close: float = 0.03) -> dict[str, Any]:
        """Of ``adaptive`` or ``bordin`` (None: the default detector): the settings where
        it beats both SD criteria (``beats_sd``) and where it is within ``close`` of the
        oracle (``close``), its worst gap to the oracle (``worst_gap``) and that setting
        (``worst_setting``)."""
        detector = self.default_detector if detector is None else detector
        return _standing(self.by_setting, detector, close)

    def summary(self) -> str:
        """Per setting, the default detector's F1 beside the fixed-constant and adaptive
        detectors, the SD criteria and the oracle; the worst case."""
        lines = [
            f"default detector: {self.default_detector}",
            f"{'setting':40s} {'default':>7s} {'adapt.':>7s} {'fixed':>7s} {'sd_k1':>7s} "
            f"{'sd_k2':>7s} {'oracle':>7s} {'gap':>7s}",
        ]
        for r in self.by_setting.itertuples(index=False):
            lines.append(
                f"{r.setting:40s} {r.default_f1:7.3f} {r.adaptive_f1:7.3f} {r.bordin_f1:7.3f} "
                f"{r.sd_k1_f1:7.3f} {r.sd_k2_f1:7.3f} {r.oracle_f1:7.3f} {r.gap_to_oracle:7.3f}"
            )
        worst = self.worst_case
        lines.append(
            f"worst case: {worst['setting']} (gap to oracle {worst['gap_to_oracle']:.3f}); "
            f"the default ({self.default_detector}) beats both SD criteria in "
            f"{int((self.by_setting['beats_sd_k1'] & self.by_setting['beats_sd_k2']).sum())} "
            f"of {len(self.by_setting)} settings"
        )
        return "\n".join(lines)


def _standing(by: pd.DataFrame, detector: str, close: float) -> dict[str, Any]:
    """:meth:`FamilyResult.standing` of ``detector`` on a frame with one row per setting
    and its ``setting``, ``<detector>_f1``, ``sd_k1_f1``, ``sd_k2_f1`` and ``oracle_f1``."""
    f1 = by[f"{detector}_f1"]
    gap = by["oracle_f1"] - f1
    worst = int(np.argmax(gap.to_numpy()))
    return {
        "beats_sd": int((f1 > by[["sd_k1_f1", "sd_k2_f1"]].max(axis=1)).sum()),
        "close": int((gap <= close).sum()),
        "worst_gap": float(gap.iloc[worst]),
        "worst_setting": str(by["setting"].iloc[worst]),
    }


@dataclass(frozen=True)
class Draws:
    """The family on many seeds: how far one draw's figures are from another's.

    A figure of :func:`evaluate_family` is a mean over two seeds; one setting's F1 moves by
    a few hundredths between seeds, and so does the oracle's, so whether the default
    detector is within 0.03 of the oracle on all 14 settings of one pair of seeds is partly
    the draw. This is the same evaluation on every seed of ``per_seed``: per setting the
    mean over seeds and its standard error, the worst seed, and the standing of each pair
    of seeds (:meth:`FamilyResult.standing` as one documented run of two seeds shows it).

    Attributes
    ----------
    per_seed
        One row per setting, seed and detector: ``setting``, ``seed``, ``detector``,
        ``f1``, ``oracle_f1`` and ``gap_to_oracle`` (:attr:`FamilyResult.per_seed`).
    n_clients
        Clients per generated clinic.
    default_detector
        The detector that leads the feedback.
    """

    per_seed: pd.DataFrame
    n_clients: int
    default_detector: str = "adaptive"

    @classmethod
    def of(cls, results: Sequence[FamilyResult]) -> Draws:
        """The draws of several :func:`evaluate_family` results (one or more seeds each,
        the same settings, clients and default detector; no seed twice)."""
        if not results:
            raise ValueError("no results to summarise")
        first = results[0]
        for r in results:
            if r.n_clients != first.n_clients or r.default_detector != first.default_detector:
                raise ValueError("the results differ in clients or default detector")
            if r.per_seed is None:
                raise ValueError("a result has no per-seed figures")
        per_seed = pd.concat([r.per_seed for r in results], ignore_index=True)
        seeds = [seed for r in results for seed in r.seeds]
        if len(set(seeds)) != len(seeds):
            raise ValueError("a seed is in more than one result")
        return cls(per_seed, first.n_clients, first.default_detector)

    @property
    def seeds(self) -> tuple[int, ...]:
        return tuple(int(s) for s in pd.unique(self.per_seed["seed"]))

    def _wide(self, seeds: Sequence[int]) -> pd.DataFrame:
        """One row per setting: the mean F1 of each detector and of the oracle on
        ``seeds`` (the columns :func:`_standing` reads)."""
        rows = self.per_seed[self.per_seed["seed"].isin(list(seeds))]
        settings = list(pd.unique(self.per_seed["setting"]))
        f1 = rows.pivot_table(index="setting", columns="detector", values="f1", aggfunc="mean")
        oracle = rows.groupby("setting")["oracle_f1"].mean()
        by = pd.DataFrame({"setting": settings})
        for d in f1.columns:
            by[f"{d}_f1"] = f1.loc[settings, d].to_numpy()
        by["oracle_f1"] = oracle.loc[settings].to_numpy()
        return by

    def by_setting(self, *, close: float = 0.03) -> pd.DataFrame:
        """Per setting, over all seeds: the default detector's mean F1, the SD criteria's
        and the oracle's, the mean gap to the oracle and its standard error, the worst
        seed's gap and that seed, the seeds where the default beats both SD criteria and
        where it is within ``close`` of the oracle (of all ``seeds``)."""
        rows = self.per_seed
        f1 = rows.pivot_table(index=["setting", "seed"], columns="detector", values="f1")
        means = self._wide(self.seeds).set_index("setting")
        out = []
        for setting in means.index:
            here = f1.loc[setting]
            mine = here[self.default_detector]
            gap = rows[
                (rows["setting"] == setting) & (rows["detector"] == self.default_detector)
            ].set_index("seed")["gap_to_oracle"]
            worst = gap.idxmax()
            n = len(gap)
            out.append(
                {
                    "setting": setting,
                    "default_f1": float(mine.mean()),
                    "sd_k1_f1": float(means.loc[setting, "sd_k1_f1"]),
                    "sd_k2_f1": float(means.loc[setting, "sd_k2_f1"]),
                    "oracle_f1": float(means.loc[setting, "oracle_f1"]),
                    "gap_to_oracle": float(gap.mean()),
                    "gap_se": float(gap.std(ddof=1) / np.sqrt(n)) if n > 1 else float("nan"),
                    "worst_gap": float(gap.loc[worst]),
                    "worst_seed": int(worst),
                    "seeds_beating_sd": int((mine > here[list(_COMPARED)].max(axis=1)).sum()),
                    "seeds_close": int((gap <= close).sum()),
                    "n_seeds": n,
                }
            )
        return pd.DataFrame(out)

    def pairs(self, *, close: float = 0.03) -> pd.DataFrame:
        """The standing of the default detector on each pair of seeds in order (the first
        and second seed, the third and fourth, ...), as a run of :func:`evaluate_family`
        on those two seeds shows it: ``seeds``, ``beats_sd``, ``close``, ``worst_gap`` and
        ``worst_setting``, and ``target``: whether the issue's target (:data:`TARGET`)
        holds there."""
        seeds = self.seeds
        out = []
        for i in range(0, len(seeds) - 1, 2):
            pair = seeds[i : i + 2]
            wide = self._wide(pair)
            got = _standing(wide, self.default_detector, close)
            target = not TARGET.shortfalls(_standing(wide, TARGET.detector, TARGET.close))
            out.append({"seeds": f"{pair[0]}, {pair[1]}", **got, "target": target})
        return pd.DataFrame(out)


def _held_out_f1(clinics: Sequence[GeneratedClinic], bests: Sequence[pd.Series]) -> float:
    """Mean F1 of each clinic's best oracle rule applied to the next clinic of the same
    setting (another seed): the oracle without its in-sample optimism (NaN for one seed)."""
    if len(clinics) < 2:
        return float("nan")
    scores = []
    for i, clinic in enumerate(clinics):
        rule = bests[(i + 1) % len(clinics)]
        events = oracle_events(
            clinic.scores,
            column=f"{clinic.alliance}_total",
            threshold=float(rule["threshold"]),
            weight=float(rule["weight"]),
        )
        scores.append(score_ruptures(events, clinic.truth).f1)
    return float(np.mean(scores))


def evaluate_family(
    n_clients: int,
    *,
    seeds: Sequence[int],
    settings: Sequence[FamilySetting] = FAMILY,
    config: FeedbackConfig | None = None,
) -> FamilyResult:
    """Run every detector and the oracles on every setting of the family.

    Parameters
    ----------
    n_clients
        Clients per generated clinic.
    seeds
        One clinic per setting and seed; figures are means over seeds.
    settings
        The settings (default: :data:`bordin.validation.generators.FAMILY`).
    config
        Detector configuration; the default is how the detectors ship. Its
        ``rupture_detector`` is the default detector of the result.
    """
    config = config or FeedbackConfig()
    lead = config.rupture_detector
    detector_rows, oracle_rows = [], []
    descriptions = {}
    held_out: dict[str, float] = {}
    for setting in settings:
        clinics, bests = [], []
        for seed in seeds:
            clinic = setting.generate(n_clients, seed=seed)
            descriptions[setting.name] = clinic.description
            detectors, oracles = evaluate_clinic(clinic, config=config)
            best = float(oracles["f1"].max())
            detector_rows.append(detectors.assign(setting=setting.name, seed=seed, oracle_f1=best))
            oracle_rows.append(oracles.assign(setting=setting.name, seed=seed))
            clinics.append(clinic)
            bests.append(oracles.loc[oracles["f1"].idxmax()])
        held_out[setting.name] = _held_out_f1(clinics, bests)
    per_seed = pd.concat(detector_rows, ignore_index=True)
    per_seed["gap_to_oracle"] = per_seed["oracle_f1"] - per_seed["f1"]
    numeric = [c for c in TABLE_COLUMNS if c not in ("setting", "detector")]
    table = (per_seed.groupby(["setting", "detector"], sort=False)[numeric].mean().reset_index())[
        list(TABLE_COLUMNS)
    ]
    f1 = table.pivot(index="setting", columns="detector", values="f1")
    gap = table.pivot(index="setting", columns="detector", values="gap_to_oracle")
    oracle = table.groupby("setting", sort=False)["oracle_f1"].first()
    names = [s.name for s in settings]
    by_setting = pd.DataFrame(
        {
            "setting": names,
            "default_f1": f1.loc[names, lead].to_numpy(),
            **{f"{d}_f1": f1.loc[names, d].to_numpy() for d in _COMPARED},
            "oracle_f1": oracle.loc[names].to_numpy(),
            "gap_to_oracle": gap.loc[names, lead].to_numpy(),
            "bordin_f1": f1.loc[names, "bordin"].to_numpy(),
            "bordin_gap_to_oracle": gap.loc[names, "bordin"].to_numpy(),
            "adaptive_f1": f1.loc[names, "adaptive"].to_numpy(),
            "adaptive_gap_to_oracle": gap.loc[names, "adaptive"].to_numpy(),
            "oracle_f1_held_out": [held_out[n] for n in names],
        }
    )
    for d in _COMPARED:
        by_setting[f"beats_{d}"] = by_setting["default_f1"] > by_setting[f"{d}_f1"]
    by_setting["description"] = [descriptions[n] for n in names]
    return FamilyResult(
        table=table,
        oracles=pd.concat(oracle_rows, ignore_index=True)[
            ["setting", "seed", "rule", "threshold", "weight", "n_true", "n_detected"]
            + ["precision", "recall", "f1"]
        ],
        by_setting=by_setting,
        n_clients=n_clients,
        seeds=tuple(int(s) for s in seeds),
        default_detector=lead,
        per_seed=per_seed[["setting", "seed", "detector", "f1", "oracle_f1", "gap_to_oracle"]],
    )


#: The detectors whose flags on a clinic without ruptures :func:`evaluate_calm` counts.
CALM_DETECTORS: Final = ("adaptive", "sd_k1", "sd_k2")


def evaluate_calm(
    n_clients: int,
    *,
    seeds: Sequence[int],
    settings: Sequence[FamilySetting] = FAMILY,
    config: FeedbackConfig | None = None,
) -> pd.DataFrame:
    """What each detector flags where there is nothing to find: every setting of the family
    drawn without ruptures (prevalence 0, the rest of its generator as it is), the clinic
    norms fitted on that clinic, every flag a false alarm.

    Returns one row per setting, seed and detector (:data:`CALM_DETECTORS`): ``setting``,
    ``seed``, ``detector``, ``sessions`` and ``clients`` (rated), ``flagged_sessions``
    (detected ruptures) and ``flagged_clients`` (clients with at least one), and their
    shares ``session_rate`` and ``client_rate``.
    """
    config = config or FeedbackConfig()
    rows = []
    for setting in settings:
        calm = dataclasses.replace(setting, prevalence=0.0)
        for seed in seeds:
            clinic = calm.generate(n_clients, seed=seed)
            extra = _norms_argument(clinic, config)
            sessions = len(clinic.scores)
            clients = int(clinic.scores["client_id"].nunique())
            for detector in CALM_DETECTORS:
                events = detect_ruptures(
                    clinic.scores,
                    alliance=clinic.alliance,
                    detector=detector,
                    config=config,
                    **extra,
                )
                flagged = int(events["client_id"].nunique())
                rows.append(
                    {
                        "setting": setting.name,
                        "seed": int(seed),
                        "detector": detector,
                        "sessions": sessions,
                        "clients": clients,
                        "flagged_sessions": len(events),
                        "flagged_clients": flagged,
                        "session_rate": len(events) / sessions,
                        "client_rate": flagged / clients,
                    }
                )
    return pd.DataFrame(rows)
