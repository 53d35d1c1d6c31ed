"""The client page's chart shows the leading rupture detector's events, also for signals
stored before the adaptive detector led (until the clinic's norms are refitted)."""

from __future__ import annotations

from typing import Any

from bordin.storage.models import Signal
from bordin.web.pages._client_data import _ruptures


def _rupture(detector: str, onset: int, scale: str = "total") -> Signal:
    data = {"detector": detector, "scale": scale, "onset": onset, "status": "open"}
    return Signal(kind="rupture", session=onset, data=data)


def _session(**flags: Any) -> Signal:
    return Signal(kind="session", session=1, data={"session": 1, **flags})


def test_the_chart_shows_the_adaptive_detector_s_events() -> None:
    signals = [
        _session(rupture_adaptive=False, rupture_bordin=False),
        _rupture("adaptive", 4),
        _rupture("bordin", 6),
        _rupture("sd_k1", 5),
        _rupture("adaptive", 7, scale="bond"),
    ]
    assert [e["onset"] for e in _ruptures(signals)] == [4]


def test_signals_stored_before_the_adaptive_detector_led_show_the_fixed_constant_one() -> None:
    signals = [_session(rupture_bordin=False), _rupture("bordin", 6), _rupture("sd_k1", 5)]
    assert [e["onset"] for e in _ruptures(signals)] == [6]
