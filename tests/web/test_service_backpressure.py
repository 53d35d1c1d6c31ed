"""Requests beyond the database pool wait without holding worker threads (no deadlock).

Regression test for a deadlock the load benchmark found: with every worker thread blocked
waiting for the (single) SQLite connection, the request holding it could not get a thread
to commit on. Here the thread pool is shrunk to 3 threads and 8 requests arrive at once.
"""

from __future__ import annotations

import asyncio

import anyio.to_thread
import httpx

from web.service_world import PHQ9_MILD, SAC_OK, World


def test_more_concurrent_requests_than_threads_all_complete(world: World) -> None:
    tokens = list(world.open_tokens.values())
    assert len(tokens) == 4

    async def run() -> list[int]:
        anyio.to_thread.current_default_thread_limiter().total_tokens = 3
        transport = httpx.ASGITransport(app=world.app)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
            requests = [client.get(f"/api/v1/forms/{t}") for t in tokens]
            requests += [
                client.post(
                    f"/api/v1/forms/{t}", json={"answers": {"phq9": PHQ9_MILD, "sac": SAC_OK}}
                )
                for t in tokens
            ]
            responses = await asyncio.wait_for(asyncio.gather(*requests), timeout=60)
        return [r.status_code for r in responses]

    statuses = asyncio.run(run())
    # Each form is read (200, or 409 when its submission got in first) and submitted once.
    assert statuses[4:] == [201, 201, 201, 201]
    assert all(s in (200, 409) for s in statuses[:4])
