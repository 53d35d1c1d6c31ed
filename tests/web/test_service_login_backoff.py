"""Repeated failed logins lock out for longer each time, and admins see each lockout
(issue 21, item 3)."""

from __future__ import annotations

from bordin.storage.rate_limits import RateLimit
from web.service_world import PASSWORD, World

API = "/api/v1"
START = 1_800_000_000.0  # a window boundary


def _login(world: World, password: str) -> int:
    client = world.anonymous()
    response = client.post(f"{API}/auth/login", json={"username": "ta1@test", "password": password})
    return response.status_code


def test_lockouts_double_and_are_audited_for_the_admins(world: World) -> None:
    now = [START]
    world.app.state.bordin.login_limit = RateLimit(
        "login", 3, clock=lambda: now[0], backoff_max=900
    )
    assert [_login(world, "wrong guess 1") for _ in range(3)] == [401, 401, 401]
    assert _login(world, PASSWORD) == 429  # locked: not even the right password is checked
    now[0] += 61  # the first lockout is one window
    assert _login(world, PASSWORD) == 200
    assert [_login(world, "wrong guess 2") for _ in range(3)] == [401, 401, 401]
    now[0] += 61
    assert _login(world, PASSWORD) == 429  # the second lasts two windows
    now[0] += 60
    assert _login(world, PASSWORD) == 200
    events = world.login("aa").get(f"{API}/audit-events").json()
    lockouts = [e for e in events if e["action"] == "auth.lockout"]
    assert {(e["detail"]["locked"], e["detail"]["seconds"]) for e in lockouts} == {
        ("account", 60),
        ("address", 60),
        ("account", 120),  # the account backs off; the shared address does not
    }
    assert len(lockouts) == 4
    assert {e["object_id"] for e in lockouts} == {world.users["ta1"]}
    # Another clinic's admin does not see them.
    other = world.login("ab").get(f"{API}/audit-events").json()
    assert not [e for e in other if e["action"] == "auth.lockout"]


def test_backoff_is_capped_and_forgotten_after_a_day(world: World) -> None:
    now = [START]
    world.app.state.bordin.login_limit = RateLimit(
        "login", 2, clock=lambda: now[0], backoff_max=150
    )
    for seconds in (60, 120, 150, 150):  # doubling, then the cap
        assert [_login(world, "nope nope nope") for _ in range(2)] == [401, 401]
        now[0] += seconds - 1
        assert _login(world, PASSWORD) == 429
        now[0] += 1
        assert _login(world, PASSWORD) == 200
        now[0] = (now[0] // 60 + 1) * 60  # the next window
    now[0] += 86_400 + 60  # a day later the backoff starts again from one window
    assert [_login(world, "nope nope nope") for _ in range(2)] == [401, 401]
    now[0] += 61
    assert _login(world, PASSWORD) == 200
