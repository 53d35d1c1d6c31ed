"""The server-rendered SVG charts: valid, accessible, faithful to the data, self-contained."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET

import pytest

from bordin.errors import InputError
from bordin.reports.charts import (
    OKABE_ITO,
    AlliancePoint,
    ExpectedPoint,
    SessionMarker,
    SymptomPoint,
    render_alliance_chart,
    render_symptom_chart,
)

NS = {"svg": "http://www.w3.org/2000/svg"}
SVG = "{http://www.w3.org/2000/svg}"


def _parse(svg: str) -> ET.Element:
    return ET.fromstring(svg)


def _points(root: ET.Element, series: str) -> list[ET.Element]:
    return [
        el for el in root.iter() if el.get("class") == "point" and el.get("data-series") == series
    ]


def _centre_y(el: ET.Element) -> float:
    if el.tag == SVG + "circle":
        return float(el.get("cy", "nan"))
    if el.tag == SVG + "rect":
        return float(el.get("y", "nan")) + float(el.get("height", "0")) / 2
    ys = [float(p.split(",")[1]) for p in el.get("points", "").split()]
    return (min(ys) + max(ys)) / 2


def _centre_x(el: ET.Element) -> float:
    if el.tag == SVG + "circle":
        return float(el.get("cx", "nan"))
    if el.tag == SVG + "rect":
        return float(el.get("x", "nan")) + float(el.get("width", "0")) / 2
    xs = [float(p.split(",")[0]) for p in el.get("points", "").split()]
    return (min(xs) + max(xs)) / 2


def _alliance_points() -> list[AlliancePoint]:
    return [
        AlliancePoint(1, 4.0, 4.5, 3.5, 4.0),
        AlliancePoint(2, 4.4, 4.8, 4.0, 4.4),
        AlliancePoint(3, 3.0, 3.2, 2.9, 2.9),
        AlliancePoint(4, 4.6, 5.0, 4.4, 4.4),
    ]


def _symptom_points() -> list[SymptomPoint]:
    return [SymptomPoint(s, v) for s, v in [(1, 16), (2, 15), (3, 20), (4, 23), (5, 9)]]


def test_alliance_chart_is_accessible_and_self_contained() -> None:
    svg = render_alliance_chart(
        _alliance_points(),
        scale_min=1,
        scale_max=7,
        markers=[SessionMarker(3, "rupture"), SessionMarker(4, "repair")],
        id_prefix="c7",
    )
    root = _parse(svg)
    assert root.get("role") == "img"
    labelled = root.get("aria-labelledby", "").split()
    assert labelled == ["c7-title", "c7-desc"]
    ids = {el.get("id") for el in root.iter() if el.get("id")}
    assert set(labelled) <= ids
    title = root.find("svg:title", NS)
    desc = root.find("svg:desc", NS)
    assert title is not None and title.text == "Alliance over sessions"
    assert desc is not None and desc.text is not None
    # the description states the data in words
    assert "Total: 4 at session 1, 4.6 at session 4." in desc.text
    assert "Ruptures at sessions 3." in desc.text
    assert "Repairs at sessions 4." in desc.text
    # nothing is fetched from anywhere
    assert not re.search(r"(href|src)\s*=", svg)
    assert "url(" not in svg and "@import" not in svg


def test_alliance_chart_draws_every_scale_with_labels_not_colour_alone() -> None:
    root = _parse(render_alliance_chart(_alliance_points(), scale_min=1, scale_max=7))
    series = {g.get("data-series") for g in root.iter(SVG + "g") if g.get("data-series")}
    assert series == {"total", "bond", "goal", "task"}
    texts = ["".join(t.itertext()) for t in root.iter(SVG + "text")]
    for label in ("Total 4.6", "Bond 5", "Goal 4.4", "Task 4.4"):
        assert label in texts
    # each scale has its own shape and dash pattern as well as its own colour
    tags = {name: {el.tag for el in _points(root, name)} for name in series}
    assert len({frozenset(t) for t in tags.values()}) >= 3
    dashes = {
        g.get("data-series"): path.get("stroke-dasharray", "")
        for g in root.iter(SVG + "g")
        if g.get("class", "").startswith("series ")
        for path in g.iter(SVG + "path")
    }
    assert len(set(dashes.values())) == 4
    colours = {el.get("fill") for name in series for el in _points(root, name) if el.get("fill")}
    assert colours <= set(OKABE_ITO.values())


def test_alliance_points_are_placed_by_value_and_session() -> None:
    points = _alliance_points()
    root = _parse(render_alliance_chart(points, scale_min=1, scale_max=7))
    drawn = _points(root, "total")
    assert [int(el.get("data-session", "0")) for el in drawn] == [1, 2, 3, 4]
    assert [float(el.get("data-value", "nan")) for el in drawn] == [4.0, 4.4, 3.0, 4.6]
    xs = [_centre_x(el) for el in drawn]
    ys = [_centre_y(el) for el in drawn]
    assert xs == sorted(xs) and len(set(xs)) == 4
    # equal session spacing on the x axis
    gaps = [b - a for a, b in zip(xs, xs[1:], strict=False)]
    assert max(gaps) - min(gaps) < 0.05
    # higher scores are drawn higher (smaller y); the y mapping is linear
    order = sorted(range(4), key=lambda i: points[i].total or 0.0)
    assert [ys[i] for i in order] == sorted(ys, reverse=True)
    slope = (ys[3] - ys[2]) / (4.6 - 3.0)
    assert ys[0] == pytest.approx(ys[2] + slope * (4.0 - 3.0), abs=0.02)


def test_alliance_chart_input_order_does_not_matter() -> None:
    points = _alliance_points()
    a = render_alliance_chart(points, scale_min=1, scale_max=7)
    b = render_alliance_chart(list(reversed(points)), scale_min=1, scale_max=7)
    assert a == b


def test_missing_values_break_the_line_and_absent_scales_are_left_out() -> None:
    points = [
        AlliancePoint(1, 4.0),
        AlliancePoint(2, None),
        AlliancePoint(3, 4.2),
        AlliancePoint(4, 4.4),
    ]
    root = _parse(render_alliance_chart(points, scale_min=1, scale_max=7))
    series = {g.get("data-series") for g in root.iter(SVG + "g") if g.get("data-series")}
    assert series == {"total"}
    assert len(_points(root, "total")) == 3
    group = next(g for g in root.iter(SVG + "g") if g.get("data-series") == "total")
    paths = list(group.iter(SVG + "path"))
    # session 1 stands alone; only sessions 3-4 are joined
    assert len(paths) == 1
    assert paths[0].get("d", "").count("L") == 1


def test_rupture_and_repair_markers_are_labelled_at_their_session() -> None:
    root = _parse(
        render_alliance_chart(
            _alliance_points(),
            scale_min=1,
            scale_max=7,
            markers=[SessionMarker(3, "rupture"), SessionMarker(4, "repair", "Repaired")],
        )
    )
    markers = [g for g in root.iter(SVG + "g") if g.get("data-kind")]
    assert [(g.get("data-kind"), g.get("data-session")) for g in markers] == [
        ("rupture", "3"),
        ("repair", "4"),
    ]
    texts = ["".join(t.itertext()) for g in markers for t in g.iter(SVG + "text")]
    assert any("Rupture (3)" in t for t in texts)
    assert any("Repaired (4)" in t for t in texts)
    x3 = _centre_x(next(el for el in _points(root, "total") if el.get("data-session") == "3"))
    line = next(markers[0].iter(SVG + "line"))
    assert float(line.get("x1", "nan")) == pytest.approx(x3, abs=0.01)


def test_empty_alliance_chart_says_so() -> None:
    root = _parse(render_alliance_chart([], scale_min=1, scale_max=7))
    assert root.get("role") == "img"
    assert "No alliance scores yet." in "".join(root.itertext())


@pytest.mark.parametrize(
    ("points", "message"),
    [
        ([AlliancePoint(1, 4.0), AlliancePoint(1, 5.0)], "session 1 appears twice"),
        ([AlliancePoint(0, 4.0)], "integers >= 1"),
        ([AlliancePoint(1, 9.0)], "outside the scale"),
        ([AlliancePoint(1, float("nan"))], "not a finite number"),
    ],
)
def test_alliance_chart_rejects_bad_data(points: list[AlliancePoint], message: str) -> None:
    with pytest.raises(InputError, match=message):
        render_alliance_chart(points, scale_min=1, scale_max=7)


def test_chart_rejects_an_empty_scale() -> None:
    with pytest.raises(InputError, match="min < max"):
        render_alliance_chart([AlliancePoint(1, 4.0)], scale_min=7, scale_max=1)
    with pytest.raises(InputError, match="min < max"):
        render_symptom_chart([SymptomPoint(1, 4.0)], scale_min=0, scale_max=0)


def test_text_is_escaped() -> None:
    svg = render_alliance_chart(
        [AlliancePoint(1, 4.0)],
        scale_min=1,
        scale_max=7,
        markers=[SessionMarker(1, "rupture", "<script>x</script>")],
        title='A & "B"',
    )
    assert "<script>" not in svg
    root = _parse(svg)
    title = root.find("svg:title", NS)
    assert title is not None and title.text == 'A & "B"'


def test_symptom_chart_marks_reliable_change_from_the_first_score() -> None:
    root = _parse(
        render_symptom_chart(
            _symptom_points(), scale_min=0, scale_max=27, cutoff=10, reliable_change=6
        )
    )
    changes = {
        int(el.get("data-session", "0")): el.get("data-change") for el in _points(root, "score")
    }
    # 16 -> 15 (unchanged), 20 (unchanged, +4), 23 (deteriorated, +7), 9 (improved, -7)
    assert changes == {
        1: "unchanged",
        2: "unchanged",
        3: "unchanged",
        4: "deteriorated",
        5: "improved",
    }
    band = next(g for g in root.iter(SVG + "g") if "band-reliable-change" in g.get("class", ""))
    assert (float(band.get("data-low", "nan")), float(band.get("data-high", "nan"))) == (10, 22)
    rect = next(band.iter(SVG + "rect"))
    y_top = float(rect.get("y", "nan"))
    y_bottom = y_top + float(rect.get("height", "nan"))
    score_y = {int(el.get("data-session", "0")): _centre_y(el) for el in _points(root, "score")}
    assert y_top < score_y[3] < y_bottom  # 20 is inside 10..22
    assert not y_top < score_y[4] < y_bottom  # 23 is outside
    desc = root.find("svg:desc", NS)
    assert desc is not None and desc.text is not None
    assert "a reliable improvement (threshold 6 points)" in desc.text
    assert "below the clinical cutoff of 10 (non-clinical range)" in desc.text
    assert "Now 9, reliably better" in "".join(root.itertext())


def test_reliable_change_direction_follows_the_scale() -> None:
    points = [SymptomPoint(1, 20), SymptomPoint(2, 30)]
    worse = _parse(render_symptom_chart(points, scale_min=0, scale_max=40, reliable_change=5))
    better = _parse(
        render_symptom_chart(
            points, scale_min=0, scale_max=40, reliable_change=5, higher_is_worse=False
        )
    )
    assert _points(worse, "score")[1].get("data-change") == "deteriorated"
    assert _points(better, "score")[1].get("data-change") == "improved"


def test_symptom_chart_draws_cutoff_and_expected_band_where_they_belong() -> None:
    expected = [ExpectedPoint(s, 15.0 - s, 20.0 - s / 2) for s in range(1, 9)]
    root = _parse(
        render_symptom_chart(
            _symptom_points(), scale_min=0, scale_max=27, cutoff=10, expected=expected
        )
    )
    score_y = {int(el.get("data-session", "0")): _centre_y(el) for el in _points(root, "score")}
    cutoff = next(g for g in root.iter(SVG + "g") if g.get("class") == "cutoff")
    assert cutoff.get("data-value") == "10"
    cut_y = float(next(cutoff.iter(SVG + "line")).get("y1", "nan"))
    assert score_y[5] > cut_y > score_y[1]  # 9 is below the line, 16 above
    assert "Clinical cutoff 10" in "".join(cutoff.itertext())
    band = next(g for g in root.iter(SVG + "g") if g.get("class") == "band band-expected")
    polygon = next(band.iter(SVG + "polygon"))
    vertices = polygon.get("points", "").split()
    assert len(vertices) == 2 * len(expected)
    band_points = [el for el in band.iter(SVG + "rect") if el.get("class") == "band-point"]
    assert [int(el.get("data-session", "0")) for el in band_points] == list(range(1, 9))
    # the x axis covers the band beyond the last score
    xs = [float(v.split(",")[0]) for v in vertices]
    assert max(xs) > max(_centre_x(el) for el in _points(root, "score"))
    assert "Expected range" in "".join(band.itertext())
    desc = root.find("svg:desc", NS)
    assert desc is not None and desc.text is not None
    assert "Expected range at session 5: 10 to 17.5; the score is below it." in desc.text


def test_symptom_chart_without_reliable_change_claims_nothing() -> None:
    root = _parse(render_symptom_chart(_symptom_points(), scale_min=0, scale_max=27))
    assert {el.get("data-change") for el in _points(root, "score")} == {"unknown"}
    assert not [g for g in root.iter(SVG + "g") if "band" in g.get("class", "")]
    desc = root.find("svg:desc", NS)
    assert desc is not None and "reliable" not in (desc.text or "")


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"reliable_change": 0.0}, "reliable change must be > 0"),
        ({"cutoff": 40.0}, "outside the scale"),
        ({"expected": [ExpectedPoint(1, 5.0, 2.0)]}, "low 5.0 > high 2.0"),
        ({"expected": [ExpectedPoint(1, 1.0, 2.0), ExpectedPoint(1, 1, 2)]}, "twice"),
    ],
)
def test_symptom_chart_rejects_bad_options(kwargs: dict[str, object], message: str) -> None:
    with pytest.raises(InputError, match=message):
        render_symptom_chart(_symptom_points(), scale_min=0, scale_max=27, **kwargs)  # type: ignore[arg-type]


def test_empty_symptom_chart_says_so() -> None:
    root = _parse(render_symptom_chart([SymptomPoint(1, None)], scale_min=0, scale_max=27))
    assert "No symptom scores yet." in "".join(root.itertext())


def test_single_session_is_drawn_in_the_middle() -> None:
    root = _parse(render_symptom_chart([SymptomPoint(3, 12)], scale_min=0, scale_max=27))
    (point,) = _points(root, "score")
    assert 200 < _centre_x(point) < 400


def test_labels_do_not_sit_on_the_line_into_the_latest_score() -> None:
    points = [SymptomPoint(1, 10), SymptomPoint(2, 20), SymptomPoint(3, 12)]
    root = _parse(render_symptom_chart(points, scale_min=0, scale_max=27))
    label = next(t for t in root.iter(SVG + "text") if t.get("class") == "last-label")
    ys = [_centre_y(el) for el in _points(root, "score")]
    assert float(label.get("y", "nan")) < min(ys[1:])
    assert "".join(label.itertext()) == "Now 12"


def test_the_expected_range_label_sits_inside_the_band_where_it_starts() -> None:
    expected = [ExpectedPoint(2, 10.0, 16.0), ExpectedPoint(3, 9.0, 15.0)]
    root = _parse(
        render_symptom_chart(_symptom_points(), scale_min=0, scale_max=27, expected=expected)
    )
    band = next(g for g in root.iter(SVG + "g") if g.get("class") == "band band-expected")
    label = next(t for t in band.iter(SVG + "text") if "".join(t.itertext()) == "Expected range")
    corners = {int(p.get("data-session", "0")): p for p in band.iter(SVG + "rect")}
    x2 = float(corners[2].get("x", "nan"))
    assert float(label.get("x", "nan")) > x2
    high_y = float(corners[2].get("y", "nan"))  # the band's top edge at session 2
    assert float(label.get("y", "nan")) > high_y
