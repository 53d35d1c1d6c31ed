"""Schemathesis over the OpenAPI document: no input makes the server answer 5xx.

Bounded (a few derandomised examples per operation), as a logged-in therapist with the
CSRF header, so that requests get past authentication into validation and the actions.
"""

from __future__ import annotations

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from web.service_world import World

EXAMPLES_PER_OPERATION = 6


@pytest.mark.slow
def test_no_server_errors_on_any_operation(world: World) -> None:
    schema = schemathesis.openapi.from_asgi("/api/v1/openapi.json", world.app)
    client = world.login("sa_north")
    headers = {"X-CSRF-Token": client.headers["X-CSRF-Token"]}
    cookies = dict(client.cookies.items())
    operations = [result.ok() for result in schema.get_all_operations()]
    # Logging out ends the session the other operations use: run it last.
    operations.sort(key=lambda op: op.path.endswith("/logout"))
    assert len(operations) >= 20
    failures: list[str] = []

    for operation in operations:

        @settings(
            max_examples=EXAMPLES_PER_OPERATION,
            deadline=None,
            derandomize=True,
            database=None,
            suppress_health_check=list(HealthCheck),
        )
        @given(case=operation.as_strategy(), data=st.data())
        def check(case: schemathesis.Case, data: st.DataObject) -> None:
            response = case.call(headers=headers, cookies=cookies)
            if response.status_code >= 500:
                failures.append(f"{case.method} {case.formatted_path}: {response.status_code}")

        check()
    assert failures == []
