"""The compiled kernels are warmed at start-up, not at import and not by the first request."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap

import pytest
from fastapi.testclient import TestClient

from bordin.web import create_app
from web.service_world import PHQ9_MILD, SAC_OK, World

# Run in a fresh interpreter: in the test process other tests may have compiled the
# kernels already. Counts the compiled signatures of every numba kernel in bordin before
# and after the first submission that follows start-up.
_FIRST_SUBMISSION = textwrap.dedent(
    """
    import json, sys, time
    from fastapi.testclient import TestClient
    from numba.core.registry import CPUDispatcher
    from bordin.settings import Settings
    from bordin.web import create_app

    def compiled():
        return {
            f"{name}.{attr}": len(value.signatures)
            for name, module in list(sys.modules.items())
            if name.startswith("bordin") and module is not None
            for attr, value in vars(module).items()
            if isinstance(value, CPUDispatcher)
        }

    url, token, answers, warm = sys.argv[1], sys.argv[2], json.loads(sys.argv[3]), sys.argv[4]
    if warm == "no":  # the control: the same start-up without the warm-up
        import bordin.web.app
        bordin.web.app.warm_up_engines = lambda: 0.0
    app = create_app(Settings(database_url=url, secret_key="x" * 32))
    with TestClient(app) as client:
        before = compiled()
        started = time.perf_counter()
        response = client.post(f"/api/v1/forms/{token}", json={"answers": answers})
        seconds = time.perf_counter() - started
        after = compiled()
    gained = sorted(k for k, n in after.items() if n > before.get(k, 0))
    print(json.dumps({"status": response.status_code, "gained": gained, "seconds": seconds,
                      "warmed": app.state.bordin.warmed_up}))
    """
)


def test_create_app_does_not_warm_and_the_lifespan_does(world: World) -> None:
    app = create_app(world.settings)
    try:
        assert app.state.bordin.warmed_up is False
        with TestClient(app):
            assert app.state.bordin.warmed_up is True
    finally:
        app.state.bordin.engine.dispose()


def _first_submission(world: World, token: str, *, warm: bool) -> dict[str, object]:
    answers = {"phq9": PHQ9_MILD, "sac": SAC_OK}
    completed = subprocess.run(
        [
            sys.executable,
            "-c",
            _FIRST_SUBMISSION,
            world.database_url,
            token,
            json.dumps(answers),
            "yes" if warm else "no",
        ],
        capture_output=True,
        text=True,
        timeout=300,
        check=True,
    )
    outcome: dict[str, object] = json.loads(completed.stdout.strip().splitlines()[-1])
    assert outcome["status"] == 201
    return outcome


@pytest.mark.slow
def test_the_first_submission_after_start_up_compiles_nothing(world: World) -> None:
    world.close()  # the subprocesses open the database on their own
    warmed = _first_submission(world, world.open_tokens["ta1"], warm=True)
    assert warmed["warmed"] is True
    assert warmed["gained"] == [], "kernels compiled during the first submission"
    # The control: without the warm-up, the first submission compiles (or loads) kernels.
    cold = _first_submission(world, world.open_tokens["ta2"], warm=False)
    assert cold["gained"] != []
