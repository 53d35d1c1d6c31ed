"""The schema every instrument definition and content pack is checked against.

Definitions are data (one TOML file per instrument version, in ``definitions/``); these
pydantic models are the contract the registry validates them with. All models are frozen:
a definition read once is shared by the whole process and must not change.
"""

from __future__ import annotations

import math
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

__all__ = [
    "AskCondition",
    "ContentItem",
    "ContentPack",
    "Cutoff",
    "Direction",
    "InstrumentDefinition",
    "ItemDefinition",
    "ReliableChangeSpec",
    "ResponseOption",
    "ScaleDefinition",
]

Direction = Literal["higher_is_better", "higher_is_worse"]


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class AskCondition(_Frozen):
    """An item is asked (and scored) only when another item reached a value.

    Example: the session alliance check asks item 8 (was the tension resolved?) only when
    item 7 (tension) is above 0. When the condition fails the item is not applicable and is
    ignored by scoring even if a value was recorded.
    """

    item: int = Field(ge=1, description="The item the condition looks at.")
    min_value: float = Field(description="The item is asked when that item is >= this value.")


class ItemDefinition(_Frozen):
    """One item: its response range, keying and role."""

    number: int = Field(ge=1, description="1-based item number as printed on the form.")
    key: str = Field(min_length=1, description="Short machine label (no wording).")
    min_value: float
    max_value: float
    step: float = Field(1.0, gt=0, description="Response resolution; 0.1 for 10 cm lines.")
    reverse: bool = Field(False, description="Scored as min + max - value.")
    required: bool = Field(True, description="Whether the form insists on an answer.")
    risk_from: float | None = Field(
        None, description="A response at or above this value is a risk signal."
    )
    asked_if: AskCondition | None = None
    loinc: str | None = None

    @model_validator(mode="after")
    def _check_range(self) -> ItemDefinition:
        if self.max_value <= self.min_value:
            raise ValueError(f"item {self.number}: max_value must exceed min_value")
        steps = (self.max_value - self.min_value) / self.step
        if abs(steps - round(steps)) > 1e-9:
            raise ValueError(f"item {self.number}: the range is not a whole number of steps")
        if self.risk_from is not None and not self.min_value < self.risk_from <= self.max_value:
            raise ValueError(f"item {self.number}: risk_from outside the response range")
        return self

    @property
    def codes(self) -> tuple[float, ...]:
        """Every allowed response code, in order."""
        n = round((self.max_value - self.min_value) / self.step)
        return tuple(round(self.min_value + i * self.step, 10) for i in range(n + 1))


class Cutoff(_Frozen):
    """A clinical cutoff: which scores count as a case (or a concern) and where it comes from."""

    value: float
    case_if: Literal[">=", ">", "<=", "<"] = Field(
        description="A score is a case when `score <case_if> value`."
    )
    label: str = Field("clinical range", description="What being past the cutoff means.")
    source: str = Field(min_length=1, description="The publication the number comes from.")
    validated: bool = Field(True, description="False for project defaults.")
    note: str = ""


class ReliableChangeSpec(_Frozen):
    """A reliable change threshold, published or computed from SD and reliability.

    When ``threshold`` is not given it is computed as in Jacobson & Truax (1991):
    :math:`1.96 \\sqrt{2} \\, SD \\sqrt{1 - r_{xx}}`.
    """

    threshold: float | None = Field(None, gt=0)
    sd: float | None = Field(None, gt=0)
    reliability: float | None = Field(None, gt=0, lt=1)
    source: str = Field(min_length=1)
    note: str = ""

    @model_validator(mode="after")
    def _check_given(self) -> ReliableChangeSpec:
        if self.threshold is None and (self.sd is None or self.reliability is None):
            raise ValueError("reliable change needs a threshold, or both sd and reliability")
        return self

    @property
    def computed(self) -> bool:
        """True when the threshold is computed from SD and reliability."""
        return self.threshold is None

    @property
    def value(self) -> float:
        """The threshold in score points (a change at least this large is reliable)."""
        if self.threshold is not None:
            return self.threshold
        sd = self.sd if self.sd is not None else math.nan
        r = self.reliability if self.reliability is not None else math.nan
        return 1.96 * math.sqrt(2.0) * sd * math.sqrt(1.0 - r)


class ScaleDefinition(_Frozen):
    """A scale (total or subscale): which items, how combined, the missing-item rule."""

    name: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    label: str
    items: tuple[int, ...] = Field(min_length=1)
    method: Literal["sum", "mean"]
    min_answered: int = Field(
        ge=1,
        description=(
            "The scale is scored when at least this many of its items are answered; "
            "otherwise it is missing."
        ),
    )
    prorate: bool = Field(
        True,
        description=(
            "With missing items, a sum is the mean of the answered items times the number of "
            "items. Without prorating, min_answered must equal the number of items."
        ),
    )
    direction: Direction
    cutoff: Cutoff | None = None
    reliable_change: ReliableChangeSpec | None = None
    loinc: str | None = None
    note: str = ""

    @model_validator(mode="after")
    def _check(self) -> ScaleDefinition:
        if len(set(self.items)) != len(self.items):
            raise ValueError(f"scale {self.name}: an item is listed twice")
        if self.min_answered > len(self.items):
            raise ValueError(f"scale {self.name}: min_answered exceeds the number of items")
        if self.method == "sum" and not self.prorate and self.min_answered != len(self.items):
            raise ValueError(
                f"scale {self.name}: a sum without prorating needs every item (min_answered)"
            )
        if self.cutoff is not None:
            worse_high = self.direction == "higher_is_worse"
            if worse_high != (self.cutoff.case_if in (">=", ">")):
                raise ValueError(f"scale {self.name}: the cutoff points the wrong way")
        return self

    @property
    def max_missing(self) -> int:
        """How many items may be missing with the scale still scored."""
        return len(self.items) - self.min_answered


class InstrumentDefinition(_Frozen):
    """A versioned instrument: items, scales, licence and provenance. No wording."""

    id: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    name: str
    short_name: str
    version: str
    description: str
    respondent: Literal["client", "therapist", "observer"]
    timeframe: str
    items: tuple[ItemDefinition, ...] = Field(min_length=1)
    scales: tuple[ScaleDefinition, ...] = Field(min_length=1)
    primary_scale: str = "total"
    citation: str = Field(min_length=1)
    doi: str | None = None
    licence: str = Field(min_length=1)
    licence_url: str | None = None
    wording_redistributable: bool
    validated: bool
    loinc: str | None = Field(None, description="LOINC code of the panel, when there is one.")
    notes: tuple[str, ...] = ()

    @model_validator(mode="after")
    def _check(self) -> InstrumentDefinition:
        numbers = [item.number for item in self.items]
        if numbers != list(range(1, len(numbers) + 1)):
            raise ValueError(f"{self.id}: items must be numbered 1..n in order")
        names = [scale.name for scale in self.scales]
        if len(set(names)) != len(names):
            raise ValueError(f"{self.id}: a scale name is used twice")
        if self.primary_scale not in names:
            raise ValueError(f"{self.id}: primary_scale {self.primary_scale!r} is not a scale")
        for scale in self.scales:
            bad = [i for i in scale.items if i > len(numbers)]
            if bad:
                raise ValueError(f"{self.id}: scale {scale.name} names unknown items {bad}")
        for item in self.items:
            cond = item.asked_if
            if cond is not None and (cond.item == item.number or cond.item > len(numbers)):
                raise ValueError(f"{self.id}: item {item.number} has a bad asked_if item")
        return self

    # Convenience views: the primary scale carries the instrument-level direction, cutoff and
    # reliable change (what most callers mean by "the PHQ-9 cutoff").

    def scale(self, name: str) -> ScaleDefinition:
        """The scale called ``name`` (KeyError when there is none)."""
        for scale in self.scales:
            if scale.name == name:
                return scale
        raise KeyError(f"{self.id} has no scale {name!r}")

    def item(self, number: int) -> ItemDefinition:
        """Item ``number`` (1-based)."""
        if not 1 <= number <= len(self.items):
            raise KeyError(f"{self.id} has no item {number}")
        return self.items[number - 1]

    @property
    def direction(self) -> Direction:
        """Direction of the primary scale."""
        return self.scale(self.primary_scale).direction

    @property
    def cutoff(self) -> Cutoff | None:
        """Clinical cutoff of the primary scale (None when there is no published one)."""
        return self.scale(self.primary_scale).cutoff

    @property
    def reliable_change(self) -> ReliableChangeSpec | None:
        """Reliable change specification of the primary scale."""
        return self.scale(self.primary_scale).reliable_change

    @property
    def clinical_cutoff(self) -> float | None:
        """The primary scale's cutoff value (None when there is none); see ``cutoff``."""
        cutoff = self.cutoff
        return None if cutoff is None else cutoff.value

    @property
    def reliable_change_threshold(self) -> float | None:
        """The primary scale's reliable change threshold in points (None when none)."""
        spec = self.reliable_change
        return None if spec is None else spec.value

    @property
    def risk_items(self) -> tuple[int, ...]:
        """Numbers of the items whose responses signal risk (e.g. PHQ-9 item 9)."""
        return tuple(item.number for item in self.items if item.risk_from is not None)

    @property
    def n_items(self) -> int:
        """Number of items."""
        return len(self.items)

    def column(self, scale: str) -> str:
        """Column name of a scale in the wide session-scores frame (``<id>_<scale>``)."""
        self.scale(scale)
        return f"{self.id}_{scale}"

    def item_column(self, number: int) -> str:
        """Column name of a raw item in the wide frame (``<id>_item<N>``)."""
        self.item(number)
        return f"{self.id}_item{number}"

    @property
    def score_columns(self) -> tuple[str, ...]:
        """The wide-frame columns this instrument produces: scales, then risk items."""
        scales = tuple(f"{self.id}_{s.name}" for s in self.scales)
        return scales + tuple(f"{self.id}_item{n}" for n in self.risk_items)


class ResponseOption(_Frozen):
    """A response code and its label in one language."""

    value: float
    label: str = Field(min_length=1)


class ContentItem(_Frozen):
    """The wording of one item and the response set it uses."""

    number: int = Field(ge=1)
    text: str = Field(min_length=1)
    responses: str = Field(min_length=1, description="Name of a response set in the pack.")


class ContentPack(_Frozen):
    """Wording of one instrument version in one language, with its required notice."""

    instrument: str
    version: str
    language: str = Field(pattern=r"^[a-z]{2,3}(-[A-Za-z0-9]+)*$")
    title: str
    instructions: str
    items: tuple[ContentItem, ...] = Field(min_length=1)
    response_sets: dict[str, tuple[ResponseOption, ...]]
    notice: str = Field(min_length=1, description="Copyright or licence notice to display.")
    source: str = Field(min_length=1, description="Where the wording was taken from.")

    def item_text(self, number: int) -> str:
        """Wording of item ``number``."""
        for item in self.items:
            if item.number == number:
                return item.text
        raise KeyError(f"{self.instrument} content pack has no item {number}")

    def labels(self, number: int) -> tuple[ResponseOption, ...]:
        """Response options of item ``number``."""
        for item in self.items:
            if item.number == number:
                return self.response_sets[item.responses]
        raise KeyError(f"{self.instrument} content pack has no item {number}")
