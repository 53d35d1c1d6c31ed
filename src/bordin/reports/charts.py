"""Server-rendered SVG charts for the therapist's pages: pure functions of data.

Two charts, drawn the way clinicians read feedback charts at a glance (the layout follows
the progress graphs of routine outcome monitoring systems, Lambert and colleagues):

* :func:`render_alliance_chart`: alliance over sessions (total, bond, goal, task; Bordin,
  1979), with rupture and repair markers (Safran et al., 2011).
* :func:`render_symptom_chart`: a symptom score over sessions with the expected-trajectory
  band (not-on-track feedback), the clinical cutoff and the reliable-change band around the
  first score (Jacobson & Truax, 1991).

Accessibility and privacy: the SVG is inline text with no external references (no fonts,
scripts or images from anywhere), uses the Okabe-Ito colour-blind-safe palette with every
series also told apart by line dash, marker shape and a text label at the end of the line
(never colour alone), and carries ``role="img"``, ``<title>`` and a ``<desc>`` that states
the data in words for screen readers. Every drawn point carries ``data-session`` and
``data-value`` attributes so tests (and scripts) can read the data back.

References
----------
Bordin, E. S. (1979). The generalizability of the psychoanalytic concept of the working
alliance. *Psychotherapy: Theory, Research & Practice, 16*(3), 252-260.
https://doi.org/10.1037/h0085885

Jacobson, N. S., & Truax, P. (1991). Clinical significance: A statistical approach to
defining meaningful change in psychotherapy research. *Journal of Consulting and Clinical
Psychology, 59*(1), 12-19. https://doi.org/10.1037/0022-006X.59.1.12

Okabe, M., & Ito, K. (2008). Color universal design (CUD): How to make figures and
presentations that are friendly to colorblind people. https://jfly.uni-koeln.de/color/

Safran, J. D., Muran, J. C., & Eubanks-Carter, C. (2011). Repairing alliance ruptures.
*Psychotherapy, 48*(1), 80-87. https://doi.org/10.1037/a0022140
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from html import escape
from typing import Final, Literal

from bordin.errors import InputError

__all__ = [
    "OKABE_ITO",
    "AlliancePoint",
    "ExpectedPoint",
    "SessionMarker",
    "SymptomPoint",
    "render_alliance_chart",
    "render_symptom_chart",
]

#: The Okabe-Ito palette (colour-blind safe), by name.
OKABE_ITO: Final[dict[str, str]] = {
    "black": "#000000",
    "orange": "#E69F00",
    "sky_blue": "#56B4E9",
    "bluish_green": "#009E73",
    "yellow": "#F0E442",
    "blue": "#0072B2",
    "vermillion": "#D55E00",
    "reddish_purple": "#CC79A7",
}

# Series colours are the palette members with at least 3:1 contrast on white (WCAG 1.4.11
# non-text contrast); each series also has its own dash pattern and marker shape.
_SERIES: Final[dict[str, tuple[str, str, str, str]]] = {
    # name: (label, colour, dash array, marker)
    "total": ("Total", OKABE_ITO["black"], "", "circle"),
    "bond": ("Bond", OKABE_ITO["blue"], "6 3", "square"),
    "goal": ("Goal", OKABE_ITO["vermillion"], "2 3", "triangle"),
    "task": ("Task", OKABE_ITO["bluish_green"], "10 3 2 3", "diamond"),
}

_WIDTH: Final = 640
_HEIGHT: Final = 340
_LEFT: Final = 56
_RIGHT: Final = 108  # room for the direct labels at the end of each line
_TOP: Final = 44
_BOTTOM: Final = 50
_FONT: Final = "system-ui, sans-serif"
# a white outline behind text drawn over lines and bands, so labels stay readable
_HALO: Final = ' stroke="#FFFFFF" stroke-width="3" paint-order="stroke"'


@dataclass(frozen=True)
class AlliancePoint:
    """Alliance scores of one session (any scale may be missing).

    Attributes
    ----------
    session : int
        1-based attended-session number.
    total, bond, goal, task : float or None
        Scale scores on the instrument's scale; ``None`` when not scored.
    """

    session: int
    total: float | None
    bond: float | None = None
    goal: float | None = None
    task: float | None = None


@dataclass(frozen=True)
class SessionMarker:
    """A rupture or repair at a session, drawn as a labelled marker.

    Attributes
    ----------
    session : int
        The session where the rupture was detected or the repair observed.
    kind : {"rupture", "repair"}
        What happened.
    label : str
        Short text shown next to the marker (for example ``"Rupture"``).
    """

    session: int
    kind: Literal["rupture", "repair"]
    label: str = ""


@dataclass(frozen=True)
class SymptomPoint:
    """A symptom total at one session.

    Attributes
    ----------
    session : int
        1-based attended-session number.
    score : float or None
        The total score; ``None`` when not scored.
    """

    session: int
    score: float | None


@dataclass(frozen=True)
class ExpectedPoint:
    """The expected-trajectory band at one session (for example an 80% prediction band).

    Attributes
    ----------
    session : int
        1-based session number.
    low, high : float
        Band limits on the instrument's scale, ``low <= high``.
    """

    session: int
    low: float
    high: float


# --------------------------------------------------------------------------------------------
# helpers


def _fmt(x: float) -> str:
    """Short, stable number formatting for coordinates."""
    text = f"{x:.2f}".rstrip("0").rstrip(".")
    return "0" if text in ("-0", "") else text


def _label_number(x: float) -> str:
    return f"{x:.0f}" if float(x).is_integer() else f"{x:.1f}"


def _check_range(scale_min: float, scale_max: float) -> None:
    if not (math.isfinite(scale_min) and math.isfinite(scale_max)) or scale_min >= scale_max:
        raise InputError(
            f"the chart's scale must be finite with min < max, got {scale_min}..{scale_max}"
        )


def _check_sessions(sessions: Sequence[int], what: str) -> None:
    seen: set[int] = set()
    for s in sessions:
        if isinstance(s, bool) or not isinstance(s, int) or s < 1:
            raise InputError(f"{what}: session numbers are integers >= 1, got {s!r}")
        if s in seen:
            raise InputError(f"{what}: session {s} appears twice")
        seen.add(s)


def _check_value(value: float | None, scale_min: float, scale_max: float, what: str) -> None:
    if value is None:
        return
    if not math.isfinite(value):
        raise InputError(f"{what}: value {value!r} is not a finite number")
    if value < scale_min or value > scale_max:
        raise InputError(f"{what}: value {value} is outside the scale {scale_min}..{scale_max}")


def _nice_step(span: float, target: int) -> float:
    raw = span / max(target, 1)
    magnitude = 10 ** math.floor(math.log10(raw))
    for factor in (1.0, 2.0, 2.5, 5.0, 10.0):
        if raw <= factor * magnitude:
            return factor * magnitude
    return 10 * magnitude


def _y_ticks(lo: float, hi: float) -> list[float]:
    step = _nice_step(hi - lo, 6)
    first = math.ceil(lo / step - 1e-9) * step
    ticks = []
    value = first
    while value <= hi + 1e-9:
        ticks.append(round(value, 10))
        value += step
    return ticks


def _x_ticks(first: int, last: int) -> list[int]:
    span = last - first
    step = 1 if span <= 12 else int(_nice_step(span, 10))
    step = max(step, 1)
    ticks = list(range(first, last + 1, step))
    if ticks[-1] != last:
        ticks.append(last)
    return ticks


@dataclass(frozen=True)
class _Frame:
    """Maps data coordinates to SVG coordinates."""

    x_first: int
    x_last: int
    y_min: float
    y_max: float

    def x(self, session: float) -> float:
        inner = _WIDTH - _LEFT - _RIGHT
        if self.x_last == self.x_first:
            return _LEFT + inner / 2
        return _LEFT + (session - self.x_first) / (self.x_last - self.x_first) * inner

    def y(self, value: float) -> float:
        inner = _HEIGHT - _TOP - _BOTTOM
        return _TOP + (self.y_max - value) / (self.y_max - self.y_min) * inner


def _marker_shape(shape: str, x: float, y: float, colour: str, attrs: str) -> str:
    if shape == "circle":
        return f'<circle cx="{_fmt(x)}" cy="{_fmt(y)}" r="4" fill="{colour}"{attrs}/>'
    if shape == "square":
        return (
            f'<rect x="{_fmt(x - 3.5)}" y="{_fmt(y - 3.5)}" width="7" height="7" '
            f'fill="{colour}"{attrs}/>'
        )
    if shape == "triangle":
        corners: tuple[tuple[float, float], ...] = (
            (x, y - 5),
            (x - 4.5, y + 3.5),
            (x + 4.5, y + 3.5),
        )
        pts = " ".join(f"{_fmt(a)},{_fmt(b)}" for a, b in corners)
        return f'<polygon points="{pts}" fill="{colour}"{attrs}/>'
    corners = ((x, y - 5), (x + 5, y), (x, y + 5), (x - 5, y))
    pts = " ".join(f"{_fmt(a)},{_fmt(b)}" for a, b in corners)
    return f'<polygon points="{pts}" fill="{colour}"{attrs}/>'


def _segments(points: Sequence[tuple[int, float | None]]) -> list[list[tuple[int, float]]]:
    """Split a series at missing values and at gaps in the session numbers."""
    runs: list[list[tuple[int, float]]] = []
    current: list[tuple[int, float]] = []
    previous: int | None = None
    for session, value in points:
        if value is None or (previous is not None and session != previous + 1):
            if current:
                runs.append(current)
            current = []
        if value is not None:
            current.append((session, value))
        previous = session
    if current:
        runs.append(current)
    return runs


def _axes(frame: _Frame, *, y_label: str) -> list[str]:
    parts = ['<g class="axes" aria-hidden="true" font-size="15" fill="#333333">']
    bottom = _HEIGHT - _BOTTOM
    right = _WIDTH - _RIGHT
    for tick in _y_ticks(frame.y_min, frame.y_max):
        y = frame.y(tick)
        parts.append(
            f'<line x1="{_LEFT}" y1="{_fmt(y)}" x2="{right}" y2="{_fmt(y)}" '
            f'stroke="#DDDDDD" stroke-width="1"/>'
        )
        parts.append(
            f'<text x="{_LEFT - 6}" y="{_fmt(y + 4)}" text-anchor="end">'
            f"{_label_number(tick)}</text>"
        )
    for tick in _x_ticks(frame.x_first, frame.x_last):
        x = frame.x(tick)
        parts.append(
            f'<line x1="{_fmt(x)}" y1="{bottom}" x2="{_fmt(x)}" y2="{bottom + 5}" '
            f'stroke="#333333" stroke-width="1"/>'
        )
        parts.append(f'<text x="{_fmt(x)}" y="{bottom + 20}" text-anchor="middle">{tick}</text>')
    parts.append(
        f'<line x1="{_LEFT}" y1="{bottom}" x2="{right}" y2="{bottom}" stroke="#333333" '
        f'stroke-width="1"/>'
    )
    parts.append(
        f'<text x="{_fmt((_LEFT + right) / 2)}" y="{_HEIGHT - 6}" text-anchor="middle">'
        f"Session</text>"
    )
    parts.append(
        f'<text x="12" y="{_fmt((_TOP + bottom) / 2)}" text-anchor="middle" '
        f'transform="rotate(-90 12 {_fmt((_TOP + bottom) / 2)})">{escape(y_label)}</text>'
    )
    parts.append("</g>")
    return parts


def _open_svg(id_prefix: str, title: str, desc: str, css_class: str) -> list[str]:
    pid = escape(id_prefix, quote=True)
    return [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="chart {css_class}" '
        f'viewBox="0 0 {_WIDTH} {_HEIGHT}" width="100%" preserveAspectRatio="xMidYMid meet" '
        f'role="img" aria-labelledby="{pid}-title {pid}-desc" font-family="{_FONT}">',
        f'<title id="{pid}-title">{escape(title)}</title>',
        f'<desc id="{pid}-desc">{escape(desc)}</desc>',
        f'<rect x="0" y="0" width="{_WIDTH}" height="{_HEIGHT}" fill="#FFFFFF"/>',
    ]


def _empty_chart(id_prefix: str, title: str, message: str, css_class: str) -> str:
    parts = _open_svg(id_prefix, title, message, css_class)
    parts.append(
        f'<text x="{_WIDTH / 2:.0f}" y="{_HEIGHT / 2:.0f}" text-anchor="middle" font-size="18" '
        f'fill="#333333">{escape(message)}</text>'
    )
    parts.append("</svg>")
    return "\n".join(parts)


def _place_end_labels(
    wanted: list[tuple[str, float, str, str]],
) -> list[tuple[str, float, str, str]]:
    """Spread direct labels vertically so they never overlap (at least 17 px apart)."""
    ordered = sorted(wanted, key=lambda item: item[1])
    placed: list[tuple[str, float, str, str]] = []
    for name, y, text, colour in ordered:
        if placed and y - placed[-1][1] < 17:
            y = placed[-1][1] + 17
        placed.append((name, y, text, colour))
    overflow = placed[-1][1] - (_HEIGHT - _BOTTOM) if placed else 0.0
    if overflow > 0:
        placed = [(n, y - overflow, t, c) for n, y, t, c in placed]
    return placed


# --------------------------------------------------------------------------------------------
# alliance


def render_alliance_chart(
    points: Sequence[AlliancePoint],
    *,
    scale_min: float,
    scale_max: float,
    markers: Sequence[SessionMarker] = (),
    title: str = "Alliance over sessions",
    y_label: str = "Alliance score",
    id_prefix: str = "alliance",
) -> str:
    """Draw alliance total, bond, goal and task over sessions as an inline SVG string.

    Parameters
    ----------
    points : sequence of AlliancePoint
        One per session, in any order; sessions must be unique. Scales that are ``None``
        in every point are left out of the chart and its legend.
    scale_min, scale_max : float
        The instrument's score range (the y axis).
    markers : sequence of SessionMarker
        Ruptures and repairs, drawn as labelled flags at their session.
    title : str
        The chart's accessible name (``<title>``).
    y_label : str
        Text of the y axis.
    id_prefix : str
        Prefix of the element ids, unique within the page.

    Returns
    -------
    str
        An ``<svg>`` element, safe to embed in HTML.

    Raises
    ------
    InputError
        A session number repeats or is not a positive integer, a value is not finite or is
        outside the scale, or the scale is empty.
    """
    _check_range(scale_min, scale_max)
    _check_sessions([p.session for p in points], "alliance chart")
    for p in points:
        for name in _SERIES:
            _check_value(
                getattr(p, name), scale_min, scale_max, f"alliance chart, session {p.session}"
            )
    for m in markers:
        if isinstance(m.session, bool) or not isinstance(m.session, int) or m.session < 1:
            raise InputError(f"alliance chart: marker session must be >= 1, got {m.session!r}")
        if m.kind not in ("rupture", "repair"):
            raise InputError(
                f"alliance chart: marker kind must be rupture or repair, got {m.kind!r}"
            )

    ordered = sorted(points, key=lambda p: p.session)
    present = [name for name in _SERIES if any(getattr(p, name) is not None for p in ordered)]
    if not present:
        return _empty_chart(id_prefix, title, "No alliance scores yet.", "chart-alliance")

    sessions = [p.session for p in ordered] + [m.session for m in markers]
    frame = _Frame(min(sessions), max(sessions), scale_min, scale_max)

    desc = _describe_alliance(ordered, present, markers)
    parts = _open_svg(id_prefix, title, desc, "chart-alliance")
    parts.extend(_axes(frame, y_label=y_label))

    # rupture and repair markers sit behind the lines
    parts.append('<g class="markers">')
    for m in sorted(markers, key=lambda m: (m.session, m.kind)):
        x = frame.x(m.session)
        is_rupture = m.kind == "rupture"
        colour = OKABE_ITO["reddish_purple"] if is_rupture else OKABE_ITO["bluish_green"]
        dash = "4 3" if is_rupture else ""
        text = m.label or ("Rupture" if is_rupture else "Repair")
        y_text = _TOP - 24 if is_rupture else _TOP - 7
        symbol = "\u25bc" if is_rupture else "\u2714"
        parts.append(
            f'<g class="marker marker-{m.kind}" data-session="{m.session}" data-kind="{m.kind}">'
        )
        parts.append(
            f'<line x1="{_fmt(x)}" y1="{_TOP - 2}" x2="{_fmt(x)}" y2="{_HEIGHT - _BOTTOM}" '
            f'stroke="{colour}" stroke-width="2"'
            + (f' stroke-dasharray="{dash}"' if dash else "")
            + "/>"
        )
        parts.append(
            f'<text x="{_fmt(x)}" y="{y_text}" text-anchor="middle" font-size="15" '
            f'fill="#222222">{symbol} {escape(text)} ({m.session})</text>'
        )
        parts.append("</g>")
    parts.append("</g>")

    end_labels: list[tuple[str, float, str, str]] = []
    for name in present:
        label, colour, dash, shape = _SERIES[name]
        series = [(p.session, getattr(p, name)) for p in ordered]
        width = 3 if name == "total" else 2
        parts.append(f'<g class="series series-{name}" data-series="{name}">')
        for run in _segments(series):
            if len(run) > 1:
                d = " ".join(
                    ("M" if i == 0 else "L") + f"{_fmt(frame.x(s))},{_fmt(frame.y(v))}"
                    for i, (s, v) in enumerate(run)
                )
                parts.append(
                    f'<path d="{d}" fill="none" stroke="{colour}" stroke-width="{width}"'
                    + (f' stroke-dasharray="{dash}"' if dash else "")
                    + ' stroke-linejoin="round"/>'
                )
        for session, value in series:
            if value is None:
                continue
            attrs = (
                f' class="point" data-series="{name}" data-session="{session}" '
                f'data-value="{value:g}"'
            )
            parts.append(_marker_shape(shape, frame.x(session), frame.y(value), colour, attrs))
        parts.append("</g>")
        last = [(s, v) for s, v in series if v is not None][-1]
        end_labels.append((name, frame.y(last[1]) + 4, f"{label} {_label_number(last[1])}", colour))

    parts.append('<g class="end-labels" font-size="15" font-weight="600">')
    x_label = _WIDTH - _RIGHT + 8
    for name, y, text, _colour in _place_end_labels(end_labels):
        _label, colour, _dash, shape = _SERIES[name]
        parts.append(_marker_shape(shape, x_label + 4, y - 4, colour, ""))
        parts.append(
            f'<text x="{x_label + 12}" y="{_fmt(y)}" fill="#222222" data-series="{name}">'
            f"{escape(text)}</text>"
        )
    parts.append("</g>")
    parts.append("</svg>")
    return "\n".join(parts)


def _describe_alliance(
    ordered: Sequence[AlliancePoint], present: Sequence[str], markers: Sequence[SessionMarker]
) -> str:
    sentences = []
    for name in present:
        values = [(p.session, getattr(p, name)) for p in ordered if getattr(p, name) is not None]
        label = _SERIES[name][0]
        (s0, v0), (s1, v1) = values[0], values[-1]
        if s0 == s1:
            sentences.append(f"{label}: {_label_number(v0)} at session {s0}.")
        else:
            sentences.append(
                f"{label}: {_label_number(v0)} at session {s0}, "
                f"{_label_number(v1)} at session {s1}."
            )
    ruptures = sorted(m.session for m in markers if m.kind == "rupture")
    repairs = sorted(m.session for m in markers if m.kind == "repair")
    if ruptures:
        sentences.append("Ruptures at sessions " + ", ".join(map(str, ruptures)) + ".")
    if repairs:
        sentences.append("Repairs at sessions " + ", ".join(map(str, repairs)) + ".")
    if not markers:
        sentences.append("No ruptures marked.")
    return " ".join(sentences)


# --------------------------------------------------------------------------------------------
# symptoms


def render_symptom_chart(
    points: Sequence[SymptomPoint],
    *,
    scale_min: float,
    scale_max: float,
    expected: Sequence[ExpectedPoint] = (),
    cutoff: float | None = None,
    reliable_change: float | None = None,
    higher_is_worse: bool = True,
    title: str = "Symptoms over sessions",
    y_label: str = "Score",
    id_prefix: str = "symptoms",
) -> str:
    """Draw a symptom score over sessions with its interpretation bands, as inline SVG.

    Parameters
    ----------
    points : sequence of SymptomPoint
        One per session, in any order; sessions must be unique.
    scale_min, scale_max : float
        The instrument's score range (the y axis).
    expected : sequence of ExpectedPoint
        The expected-trajectory band (for example from the not-on-track model), drawn as a
        shaded band labelled "Expected range".
    cutoff : float, optional
        The clinical cutoff, drawn as a labelled dashed line.
    reliable_change : float, optional
        The reliable-change threshold (in score points). The band of scores within this
        distance of the first score is shaded and labelled "No reliable change"; points
        outside it are labelled as reliably improved or deteriorated.
    higher_is_worse : bool
        Direction of the scale (True for PHQ-9, GAD-7, K10, CORE-10).
    title, y_label, id_prefix : str
        Accessible name, y-axis text and element-id prefix.

    Returns
    -------
    str
        An ``<svg>`` element, safe to embed in HTML.

    Raises
    ------
    InputError
        A session repeats or is not a positive integer, a value is not finite or is outside
        the scale, a band has ``low > high``, or ``reliable_change`` is not positive.

    Notes
    -----
    A score :math:`x_t` has changed reliably from the first score :math:`x_1` when
    :math:`|x_t - x_1| \\geq RC`, where RC is the instrument's reliable-change threshold
    (Jacobson & Truax, 1991); the chart shades :math:`x_1 \\pm RC`.
    """
    _check_range(scale_min, scale_max)
    _check_sessions([p.session for p in points], "symptom chart")
    _check_sessions([e.session for e in expected], "symptom chart expected band")
    for p in points:
        _check_value(p.score, scale_min, scale_max, f"symptom chart, session {p.session}")
    for e in expected:
        for v in (e.low, e.high):
            if not math.isfinite(v):
                raise InputError(f"symptom chart expected band, session {e.session}: not finite")
        if e.low > e.high:
            raise InputError(
                f"symptom chart expected band, session {e.session}: low {e.low} > high {e.high}"
            )
    if cutoff is not None:
        _check_value(cutoff, scale_min, scale_max, "symptom chart cutoff")
    if reliable_change is not None and not (math.isfinite(reliable_change) and reliable_change > 0):
        raise InputError(f"symptom chart: reliable change must be > 0, got {reliable_change}")

    ordered = sorted(points, key=lambda p: p.session)
    scored = [(p.session, p.score) for p in ordered if p.score is not None]
    if not scored:
        return _empty_chart(id_prefix, title, "No symptom scores yet.", "chart-symptoms")

    band = sorted(expected, key=lambda e: e.session)
    sessions = [p.session for p in ordered] + [e.session for e in band]
    frame = _Frame(min(sessions), max(sessions), scale_min, scale_max)
    baseline = scored[0][1]

    statuses = [
        (s, v, _change_status(v - baseline, reliable_change, higher_is_worse)) for s, v in scored
    ]
    desc = _describe_symptoms(statuses, cutoff, reliable_change, band, higher_is_worse)
    parts = _open_svg(id_prefix, title, desc, "chart-symptoms")

    def clamp(v: float) -> float:
        return min(max(v, scale_min), scale_max)

    # reliable-change band (behind everything else)
    if reliable_change is not None:
        hi = clamp(baseline + reliable_change)
        lo = clamp(baseline - reliable_change)
        y_hi, y_lo = frame.y(hi), frame.y(lo)
        parts.append(
            f'<g class="band band-reliable-change" data-low="{lo:g}" data-high="{hi:g}">'
            f'<rect x="{_LEFT}" y="{_fmt(y_hi)}" width="{_WIDTH - _LEFT - _RIGHT}" '
            f'height="{_fmt(y_lo - y_hi)}" fill="#EEEEEE"/>'
            f'<text x="{_WIDTH - _RIGHT + 8}" y="{_fmt((y_hi + y_lo) / 2 + 4)}" font-size="14" '
            f'fill="#333333">No reliable</text>'
            f'<text x="{_WIDTH - _RIGHT + 8}" y="{_fmt((y_hi + y_lo) / 2 + 21)}" font-size="14" '
            f'fill="#333333">change</text></g>'
        )
    parts.extend(_axes(frame, y_label=y_label))

    # expected-trajectory band
    if band:
        upper = " ".join(f"{_fmt(frame.x(e.session))},{_fmt(frame.y(clamp(e.high)))}" for e in band)
        lower = " ".join(
            f"{_fmt(frame.x(e.session))},{_fmt(frame.y(clamp(e.low)))}" for e in reversed(band)
        )
        last = band[-1]
        parts.append('<g class="band band-expected">')
        if len(band) > 1:
            parts.append(
                f'<polygon points="{upper} {lower}" fill="{OKABE_ITO["sky_blue"]}" '
                f'fill-opacity="0.3" stroke="{OKABE_ITO["blue"]}" stroke-width="1" '
                f'stroke-dasharray="3 3"/>'
            )
        else:
            x = frame.x(last.session)
            parts.append(
                f'<line x1="{_fmt(x)}" y1="{_fmt(frame.y(clamp(last.high)))}" x2="{_fmt(x)}" '
                f'y2="{_fmt(frame.y(clamp(last.low)))}" stroke="{OKABE_ITO["blue"]}" '
                f'stroke-width="6" stroke-opacity="0.4"/>'
            )
        for e in band:
            parts.append(
                f'<rect class="band-point" x="{_fmt(frame.x(e.session))}" '
                f'y="{_fmt(frame.y(clamp(e.high)))}" width="0" height="0" '
                f'data-session="{e.session}" data-low="{e.low:g}" data-high="{e.high:g}"/>'
            )
        first = band[0]
        # labelled where the band starts, away from the latest score's own label
        parts.append(
            f'<text x="{_fmt(frame.x(first.session) + 4)}" '
            f'y="{_fmt((frame.y(clamp(first.low)) + frame.y(clamp(first.high))) / 2 + 5)}" '
            f'text-anchor="start" font-size="14" '
            f'fill="#0B4F7A"{_HALO}>Expected range</text>'
        )
        parts.append("</g>")

    # clinical cutoff
    if cutoff is not None:
        y = frame.y(cutoff)
        parts.append(
            f'<g class="cutoff" data-value="{cutoff:g}">'
            f'<line x1="{_LEFT}" y1="{_fmt(y)}" x2="{_WIDTH - _RIGHT}" y2="{_fmt(y)}" '
            f'stroke="{OKABE_ITO["vermillion"]}" stroke-width="2" stroke-dasharray="8 4"/>'
            f'<text x="{_LEFT + 4}" y="{_fmt(y - 5)}" font-size="14" fill="#8A3A00"{_HALO}>'
            f"Clinical cutoff {_label_number(cutoff)}</text></g>"
        )

    # the scores
    colour = OKABE_ITO["black"]
    parts.append('<g class="series series-score" data-series="score">')
    for run in _segments([(p.session, p.score) for p in ordered]):
        if len(run) > 1:
            d = " ".join(
                ("M" if i == 0 else "L") + f"{_fmt(frame.x(s))},{_fmt(frame.y(v))}"
                for i, (s, v) in enumerate(run)
            )
            parts.append(
                f'<path d="{d}" fill="none" stroke="{colour}" stroke-width="3" '
                f'stroke-linejoin="round"/>'
            )
    for session, value, status in statuses:
        attrs = (
            f' class="point" data-series="score" data-session="{session}" '
            f'data-value="{value:g}" data-change="{status}"'
        )
        x, y = frame.x(session), frame.y(value)
        if status == "deteriorated":
            # hollow vermillion triangle with a thick edge: shape, not only colour
            parts.append(
                _marker_shape(
                    "triangle",
                    x,
                    y,
                    OKABE_ITO["vermillion"],
                    attrs + ' stroke="#000000" stroke-width="1"',
                )
            )
        elif status == "improved":
            parts.append(
                _marker_shape(
                    "diamond", x, y, OKABE_ITO["bluish_green"], attrs + ' stroke="#000000"'
                )
            )
        else:
            parts.append(_marker_shape("circle", x, y, colour, attrs))
    parts.append("</g>")

    last_s, last_v, last_status = statuses[-1]
    words = {
        "deteriorated": "reliably worse",
        "improved": "reliably better",
        "unchanged": "",
        "unknown": "",
    }[last_status]
    text = f"Now {_label_number(last_v)}" + (f", {words}" if words else "")
    # above the last two points, so the line into the last point does not cross the text
    top = min(frame.y(v) for _s, v, _st in statuses[-2:])
    parts.append(
        f'<text class="last-label" x="{_fmt(frame.x(last_s))}" y="{_fmt(max(top - 10, 16))}" '
        f'text-anchor="end" font-size="15" font-weight="600" fill="#222222"{_HALO}>'
        f"{escape(text)}</text>"
    )
    parts.append("</svg>")
    return "\n".join(parts)


def _change_status(
    diff: float, reliable_change: float | None, higher_is_worse: bool
) -> Literal["improved", "deteriorated", "unchanged", "unknown"]:
    if reliable_change is None:
        return "unknown"
    if abs(diff) < reliable_change:
        return "unchanged"
    worse = diff > 0 if higher_is_worse else diff < 0
    return "deteriorated" if worse else "improved"


def _describe_symptoms(
    statuses: Sequence[tuple[int, float, str]],
    cutoff: float | None,
    reliable_change: float | None,
    band: Sequence[ExpectedPoint],
    higher_is_worse: bool,
) -> str:
    (s0, v0, _), (s1, v1, status) = statuses[0], statuses[-1]
    sentences = [f"Score {_label_number(v0)} at session {s0}"]
    if s1 != s0:
        sentences[0] += f", {_label_number(v1)} at session {s1}"
    sentences[0] += "."
    if reliable_change is not None:
        phrase = {
            "deteriorated": "a reliable deterioration",
            "improved": "a reliable improvement",
            "unchanged": "no reliable change",
        }[status]
        sentences.append(
            f"Compared with the first score this is {phrase} "
            f"(threshold {_label_number(reliable_change)} points)."
        )
    if cutoff is not None:
        above = v1 >= cutoff
        side = "at or above" if above else "below"
        clinical = above if higher_is_worse else not above
        sentences.append(
            f"The latest score is {side} the clinical cutoff of {_label_number(cutoff)}"
            + (" (clinical range)." if clinical else " (non-clinical range).")
        )
    latest_band = [e for e in band if e.session == s1]
    if latest_band:
        e = latest_band[0]
        where = "within" if e.low <= v1 <= e.high else ("below" if v1 < e.low else "above")
        sentences.append(
            f"Expected range at session {s1}: {_label_number(e.low)} to {_label_number(e.high)}; "
            f"the score is {where} it."
        )
    return " ".join(sentences)
