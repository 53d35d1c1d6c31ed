"""Rate limits: counted in the database, shared by app instances, failures only."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from datetime import date

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from bordin.settings import Settings
from bordin.storage import actions, make_engine, make_session_factory, transaction
from bordin.storage.exceptions import RateLimited
from bordin.storage.models import RateLimitCount, User
from bordin.storage.rate_limits import RateLimit
from bordin.web import create_app
from web.service_world import BACKENDS, PASSWORD, PHQ9_MILD, SAC_OK, World

API = "/api/v1"
ANSWERS = {"phq9": PHQ9_MILD, "sac": SAC_OK}


def _stopped_clock() -> Callable[[], float]:
    """The time now, held still: the limits count in fixed windows aligned on the minute,
    and a test whose requests straddled a minute boundary would see its count reset."""
    now = time.time()
    return lambda: now


def _default(name: str) -> int:
    value = Settings.model_fields[name].default
    assert isinstance(value, int)
    return value


def test_failed_logins_are_limited_and_answered_429_with_retry_after(world: World) -> None:
    world.app.state.bordin.login_limit = RateLimit("login", 3, clock=_stopped_clock())
    client = world.anonymous()
    wrong = {"username": "ta1@test", "password": "wrong-pass-1"}
    codes = [client.post(f"{API}/auth/login", json=wrong).status_code for _ in range(4)]
    assert codes == [401, 401, 401, 429]
    right = {"username": "ta1@test", "password": PASSWORD}
    limited = client.post(f"{API}/auth/login", json=right)
    assert limited.status_code == 429
    assert 1 <= int(limited.headers["Retry-After"]) <= 60


def test_successful_logins_are_not_counted(world: World) -> None:
    world.app.state.bordin.login_limit = RateLimit("login", 2, clock=_stopped_clock())
    client = world.anonymous()
    right = {"username": "ta1@test", "password": PASSWORD}
    assert [client.post(f"{API}/auth/login", json=right).status_code for _ in range(5)] == [200] * 5


def test_the_login_page_counts_failures_in_the_same_table(world: World) -> None:
    world.app.state.bordin.login_limit = RateLimit("login", 2, clock=_stopped_clock())
    client = world.anonymous()
    form = {"username": "ta1@test", "password": "nope-nope"}
    codes = [client.post("/login", data=form).status_code for _ in range(3)]
    assert codes == [401, 401, 429]
    assert client.post(f"{API}/auth/login", json=form).status_code == 429


def test_unusable_form_links_are_limited(world: World) -> None:
    world.app.state.bordin.token_limit = RateLimit("token", 3, clock=_stopped_clock())
    client = world.anonymous()
    assert client.get(f"{API}/forms/guess-1").status_code == 404
    # a used link (409) and an unknown one on submit count too
    used = client.post(f"{API}/forms/{world.used_tokens['ta1']}", json={"answers": ANSWERS})
    assert used.status_code == 409
    assert client.post(f"{API}/forms/guess-2", json={"answers": ANSWERS}).status_code == 404
    limited = client.get(f"{API}/forms/{world.open_tokens['ta1']}")
    assert limited.status_code == 429
    assert 1 <= int(limited.headers["Retry-After"]) <= 60
    with world.sessions_factory() as db:
        counts = db.scalars(select(RateLimitCount.count).where(RateLimitCount.scope == "token"))
        assert list(counts) == [3]


@pytest.mark.slow
def test_a_waiting_room_behind_one_address_submits_200_forms(world: World) -> None:
    """200 genuine submissions from one address, at the default limit: none refused."""
    world.app.state.bordin.token_limit = RateLimit("token", _default("token_rate_limit"))
    tokens: list[str] = []
    with transaction(world.sessions_factory) as db:
        therapist = db.get(User, world.users["ta2"])
        assert therapist is not None
        for c in range(20):
            client = actions.create_client(
                db, actor=therapist, code=f"room-{c}", opened_on=date(2026, 2, 1)
            )
            for _ in range(10):
                session = actions.create_session(db, actor=therapist, client_id=client.id)
                _, token = actions.create_form_request(
                    db, actor=therapist, session_id=session.id, instruments=["phq9", "sac"]
                )
                tokens.append(token)
    phone = world.anonymous()
    codes = []
    for token in tokens:
        codes.append(phone.get(f"{API}/forms/{token}").status_code)
        codes.append(phone.post(f"{API}/forms/{token}", json={"answers": ANSWERS}).status_code)
    assert codes.count(429) == 0
    assert codes == [200, 201] * 200


def test_the_limit_is_shared_between_app_instances(world: World) -> None:
    """Two app instances on one database (two worker processes) count together."""
    settings = world.settings.model_copy(update={"token_rate_limit": 2, "login_rate_limit": 2})
    first, second = create_app(settings), create_app(settings)
    try:
        with TestClient(first) as one, TestClient(second) as two:
            assert one.get(f"{API}/forms/guess-1").status_code == 404
            assert two.get(f"{API}/forms/guess-2").status_code == 404
            assert one.get(f"{API}/forms/guess-3").status_code == 429
            assert two.get(f"{API}/forms/{world.open_tokens['ta1']}").status_code == 429
            wrong = {"username": "ta1@test", "password": "wrong-pass-1"}
            assert one.post(f"{API}/auth/login", json=wrong).status_code == 401
            assert two.post(f"{API}/auth/login", json=wrong).status_code == 401
            assert one.post(f"{API}/auth/login", json=wrong).status_code == 429
    finally:
        first.state.bordin.engine.dispose()
        second.state.bordin.engine.dispose()


@pytest.mark.parametrize("world", BACKENDS, indirect=True)
def test_concurrent_counts_from_two_engines_are_never_lost(world: World) -> None:
    """Counting is an atomic upsert: 2 engines x 8 threads x 5 failures = 80. The clock
    is held still: a run straddling a minute boundary would start a new window and delete
    the old one's row (CI once saw 19 of 80 that way)."""
    limit = RateLimit("token", 1000, clock=_stopped_clock())
    engines = [make_engine(world.database_url) for _ in range(2)]
    factories = [make_session_factory(e) for e in engines]
    errors: list[BaseException] = []

    def fail_five(index: int) -> None:
        try:
            for _ in range(5):
                with transaction(factories[index % 2]) as db:
                    limit.count(db, "203.0.113.7")
        except BaseException as exc:  # reported by the assertion below
            errors.append(exc)

    threads = [threading.Thread(target=fail_five, args=(i,)) for i in range(16)]
    try:
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert errors == []
        with factories[0]() as db:
            assert db.scalar(select(RateLimitCount.count)) == 80
    finally:
        for engine in engines:
            engine.dispose()


def test_windows_end_and_their_rows_are_deleted(world: World) -> None:
    now = [999_960.0]  # a multiple of 60: the start of a window
    limit = RateLimit("login", 2, window=60, clock=lambda: now[0])
    with transaction(world.sessions_factory) as db:
        limit.count(db, "a")
        limit.count(db, "a")
        limit.count(db, "b")
        limit.check(db, "b")
        with pytest.raises(RateLimited) as raised:
            limit.check(db, "a")
        assert raised.value.retry_after == 60
    now[0] += 45.5
    with transaction(world.sessions_factory) as db, pytest.raises(RateLimited) as raised:
        limit.check(db, "a")
    assert raised.value.retry_after == 15
    now[0] += 15
    with transaction(world.sessions_factory) as db:
        limit.check(db, "a")  # a new window
        limit.count(db, "c")
        rows = db.execute(select(RateLimitCount.address, RateLimitCount.window_start)).all()
        assert rows == [("c", 1_000_020)]  # the ended window's rows are gone


def test_failed_logins_are_also_counted_per_account(world: World) -> None:
    """An account that had too many failed logins (from any address) is paused; another
    account from the same address is not."""
    from bordin.web.security import account_key

    limit = RateLimit("login", 3, clock=_stopped_clock())
    world.app.state.bordin.login_limit = limit
    with transaction(world.sessions_factory) as db:
        for _ in range(3):  # three failures for ta1 seen from elsewhere
            limit.count(db, account_key("TA1@test "))
    client = world.anonymous()
    right = {"username": "ta1@test", "password": PASSWORD}
    paused = client.post(f"{API}/auth/login", json=right)
    assert paused.status_code == 429 and int(paused.headers["Retry-After"]) >= 1
    page = client.post("/login", data=right)
    assert page.status_code == 429 and "password was not checked" in page.text
    other = {"username": "ta2@test", "password": PASSWORD}
    assert client.post(f"{API}/auth/login", json=other).status_code == 200
    with world.sessions_factory() as db:
        keys = set(db.scalars(select(RateLimitCount.address)))
    assert account_key("ta1@test") in keys
    assert not any("ta1" in key for key in keys)  # no usernames in the table
