"""SimulationConfig: defaults, validation and conversion."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json

import pytest

from bordin.errors import InputError
from bordin.simulate import SimulationConfig, simulate_clinic


def test_every_parameter_is_documented_with_its_default() -> None:
    doc = SimulationConfig.__doc__ or ""
    for field in dataclasses.fields(SimulationConfig):
        assert field.name in doc, field.name
        default = field.default
        if isinstance(default, bool | int | float | str) and not isinstance(default, bool):
            shown = repr(default) if isinstance(default, str) else f"{default:g}"
            shown = shown.replace("'", '"')
            assert shown in doc, (field.name, shown)


def test_round_trip_through_json() -> None:
    config = SimulationConfig(
        n_clients=12, start_date=dt.date(2025, 2, 3), alliance_instrument="wai_sr"
    )
    again = SimulationConfig.from_dict(json.loads(json.dumps(config.to_dict())))
    assert again == config


def test_strings_are_converted() -> None:
    config = SimulationConfig.from_dict(
        {"n_clients": "7", "feedback_trial": "yes", "rupture_rate": "0.2", "start_date": None}
    )
    assert config.n_clients == 7 and config.feedback_trial and config.rupture_rate == 0.2


def test_therapist_count() -> None:
    assert SimulationConfig(n_clients=41, clients_per_therapist=20).n_therapists == 3
    assert SimulationConfig(n_clients=1).n_therapists == 1


@pytest.mark.parametrize(
    ("values", "name"),
    [
        ({"n_clients": 0}, "n_clients"),
        ({"sessions_min": 5, "sessions_max": 4}, "sessions_max"),
        ({"rupture_rate": 1.2}, "rupture_rate"),
        ({"repair_probability": 1.0}, "repair_probability"),
        ({"client_alliance_sd": -0.1}, "client_alliance_sd"),
        ({"state_ar": 1.0}, "state_ar"),
        ({"severity_ar": -1.5}, "severity_ar"),
        ({"repair_window": 0}, "repair_window"),
        ({"alliance_instrument": "srs"}, "alliance_instrument"),
        ({"within_effect": float("nan")}, "within_effect"),
        ({"rupture_depth_mean": 0.0}, "rupture_depth_mean"),
    ],
)
def test_invalid_parameters_are_refused_by_name(values: dict[str, object], name: str) -> None:
    with pytest.raises(InputError, match=name):
        SimulationConfig(**values)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("values", "fragment"),
    [
        ({"no_such": 1}, "unknown simulation parameter"),
        ({"n_clients": "many"}, "n_clients"),
        ({"n_clients": 2.5}, "n_clients"),
        ({"feedback_trial": "perhaps"}, "feedback_trial"),
        ({"start_date": "yesterday"}, "start_date"),
    ],
)
def test_from_dict_errors(values: dict[str, object], fragment: str) -> None:
    with pytest.raises(InputError, match=fragment):
        SimulationConfig.from_dict(values)


@pytest.mark.parametrize("seed", [-1, 1.5, "3", True])
def test_seed_must_be_a_non_negative_integer(seed: object) -> None:
    with pytest.raises(InputError, match="seed"):
        simulate_clinic(SimulationConfig(n_clients=2), seed=seed)  # type: ignore[arg-type]
