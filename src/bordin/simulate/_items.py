"""Item responses from the latent values: each item is latent + noise, rounded and clipped.

Rounding a latent value plus noise of SD about 0.5 or more is unbiased in the middle of the
range; clipping to the response codes gives floor and ceiling effects. Each function works on
the attended sessions as flat arrays (one entry per client-session), never row by row.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import numpy.typing as npt

from bordin.errors import InstrumentError
from bordin.instruments import get_instrument
from bordin.simulate._config import SimulationConfig

__all__ = [
    "ItemBlock",
    "SAC_COMPONENT_OF_ITEM",
    "WAI_SR_COMPONENT_OF_ITEM",
    "gad7_items",
    "omit_responses",
    "phq9_items",
    "sac_items",
    "wai_sr_items",
]

FloatArray = npt.NDArray[np.float64]
BoolArray = npt.NDArray[np.bool_]
Int8Array = npt.NDArray[np.int8]

# Component (0 bond, 1 goal, 2 task) of each alliance item, in item order.
SAC_COMPONENT_OF_ITEM = (0, 0, 1, 1, 2, 2)
# WAI-SR (Hatcher & Gillaspy, 2006): goal 4, 6, 8, 11; task 1, 2, 10, 12; bond 3, 5, 7, 9.
WAI_SR_COMPONENT_OF_ITEM = (2, 2, 0, 1, 0, 1, 0, 1, 0, 2, 1, 2)
# Small item difficulties (sac points) so that items of one scale are not exchangeable.
_SAC_OFFSETS = (0.1, -0.1, 0.05, -0.05, 0.1, -0.1)
_WAI_SR_OFFSETS = (0.05, -0.1, 0.1, 0.0, -0.05, 0.05, 0.1, -0.1, 0.0, 0.05, -0.05, 0.0)
# Item weights (mean 1): items differ in how strongly they follow the total.
_PHQ9_WEIGHTS = (1.1, 1.15, 1.05, 1.2, 0.9, 0.95, 0.85, 0.8)
_GAD7_WEIGHTS = (1.1, 1.1, 1.05, 1.0, 0.9, 0.95, 0.9)
# Distribution of PHQ-9 item 9 when it is above 0 (codes 1, 2, 3).
_SELF_HARM_CODES = (0.75, 0.2, 0.05)


@dataclasses.dataclass(frozen=True)
class ItemBlock:
    """The responses of one instrument: ``values[r, j]`` is item ``items[j]`` of row ``r``."""

    instrument: str
    items: tuple[int, ...]
    values: Int8Array
    present: BoolArray


def _ordinal(latent: FloatArray, low: FloatArray, high: FloatArray) -> Int8Array:
    out: Int8Array = np.clip(np.rint(latent), low, high).astype(np.int8)
    return out


def _bounds(instrument: str, items: tuple[int, ...]) -> tuple[FloatArray, FloatArray]:
    """Lowest and highest response code of each item, from the instrument definition."""
    definition = get_instrument(instrument)
    if definition.n_items < max(items):
        raise InstrumentError(
            f"the simulator generates {max(items)} {instrument} items, "
            f"the definition has {definition.n_items}"
        )
    low = np.array([definition.item(i).min_value for i in items], dtype=np.float64)
    high = np.array([definition.item(i).max_value for i in items], dtype=np.float64)
    return low, high


def _alliance_block(
    instrument: str,
    alliance: FloatArray,
    components: tuple[int, ...],
    offsets: tuple[float, ...],
    noise_sd: float,
    rng: np.random.Generator,
) -> ItemBlock:
    n = alliance.shape[0]
    latent = alliance[:, list(components)] + np.asarray(offsets)
    latent = latent + noise_sd * rng.standard_normal((n, len(components)))
    items = tuple(range(1, len(components) + 1))
    values = _ordinal(latent, *_bounds(instrument, items))
    return ItemBlock(instrument, items, values, np.ones(values.shape, dtype=bool))


def sac_items(
    alliance: FloatArray,
    signal: FloatArray,
    confrontation: BoolArray,
    config: SimulationConfig,
    rng: np.random.Generator,
) -> ItemBlock:
    """The session alliance check: items 1-6 (1-5) and the rupture items 7-10 (0-4).

    Item 7 (tension), 9 (misunderstood or criticised) and 10 (holding back) rise with the
    rupture ``signal`` (depth / mean depth at onset, half of it while the rupture stays
    open): confrontation raises 7 and 9, withdrawal raises 10 and, less, 7. Item 8 (how much
    the tension was resolved by the end of the session) is asked only when item 7 > 0.
    """
    base = _alliance_block(
        "sac", alliance, SAC_COMPONENT_OF_ITEM, _SAC_OFFSETS, config.item_noise_sd, rng
    )
    n = alliance.shape[0]
    rise = config.rupture_item_signal * signal
    weights = np.where(
        confrontation[:, None],
        np.array([1.0, 1.0, 0.15]),  # items 7, 9, 10 for confrontation
        np.array([0.5, 0.15, 1.0]),  # and for withdrawal
    )
    noise = config.rupture_item_noise_sd * rng.standard_normal((n, 4))
    latent = config.rupture_item_background + rise[:, None] * weights + noise[:, :3]
    low, high = _bounds("sac", (7, 9, 10, 8))
    marks = _ordinal(latent, low[:3], high[:3])
    tension, misunderstood, withdraw = marks[:, 0], marks[:, 1], marks[:, 2]
    resolved = _ordinal(2.0 - signal + noise[:, 3], low[3:], high[3:])
    values = np.column_stack([base.values, tension, resolved, misunderstood, withdraw])
    present = np.ones(values.shape, dtype=bool)
    present[:, 7] = tension > 0
    return ItemBlock("sac", tuple(range(1, 11)), values.astype(np.int8), present)


def wai_sr_items(
    alliance: FloatArray, config: SimulationConfig, rng: np.random.Generator
) -> ItemBlock:
    """WAI-SR client form: 12 items 1-5 from the bond, goal and task components."""
    return _alliance_block(
        "wai_sr",
        alliance,
        WAI_SR_COMPONENT_OF_ITEM,
        _WAI_SR_OFFSETS,
        config.item_noise_sd,
        rng,
    )


def phq9_items(
    severity: FloatArray, config: SimulationConfig, rng: np.random.Generator
) -> ItemBlock:
    """PHQ-9: items 1-8 carry the latent severity (their sum tracks it); item 9 is rare.

    Item 9 (thoughts of self-harm) is 0 whenever latent severity is below
    ``self_harm_threshold``; at or above it, it is above 0 with ``self_harm_probability``.
    """
    n = severity.shape[0]
    weights = np.asarray(_PHQ9_WEIGHTS)
    latent = severity[:, None] * weights / weights.size
    latent = latent + config.phq9_item_noise_sd * rng.standard_normal((n, weights.size))
    main = _ordinal(latent, *_bounds("phq9", tuple(range(1, 9))))
    u_gate = rng.random(n)
    u_code = rng.random(n)
    code = 1 + np.searchsorted(np.cumsum(_SELF_HARM_CODES)[:-1], u_code, side="right")
    gate = (severity >= config.self_harm_threshold) & (u_gate < config.self_harm_probability)
    item9 = np.where(gate, code, 0).astype(np.int8)
    values = np.column_stack([main, item9]).astype(np.int8)
    return ItemBlock("phq9", tuple(range(1, 10)), values, np.ones(values.shape, dtype=bool))


def gad7_items(
    anxiety: FloatArray, config: SimulationConfig, rng: np.random.Generator
) -> ItemBlock:
    """GAD-7: 7 items 0-3 whose sum tracks the latent anxiety (GAD-7 total scale)."""
    n = anxiety.shape[0]
    weights = np.asarray(_GAD7_WEIGHTS)
    latent = anxiety[:, None] * weights / weights.size
    latent = latent + config.phq9_item_noise_sd * rng.standard_normal((n, weights.size))
    values = _ordinal(latent, *_bounds("gad7", tuple(range(1, 8))))
    return ItemBlock("gad7", tuple(range(1, 8)), values, np.ones(values.shape, dtype=bool))


def omit_responses(
    blocks: list[ItemBlock], config: SimulationConfig, rng: np.random.Generator
) -> list[ItemBlock]:
    """Leave forms and items unanswered, at random (missing completely at random).

    Each questionnaire of a session is skipped with ``form_missing_probability``; each item
    of a filled-in questionnaire with ``item_missing_probability``. sac item 8 is asked only
    when item 7 was answered and above 0, so it goes when item 7 goes.
    """
    out = []
    for block in blocks:
        n, k = block.values.shape
        skipped = rng.random(n) < config.form_missing_probability
        unanswered = rng.random((n, k)) < config.item_missing_probability
        present = np.logical_and(block.present, ~unanswered)
        present[skipped] = False
        if block.instrument == "sac":
            present[:, 7] &= present[:, 6]
        out.append(dataclasses.replace(block, present=present))
    return out
