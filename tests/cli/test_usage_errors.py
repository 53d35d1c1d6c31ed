"""Usage errors of the installed ``bordin`` command: one ``error:`` line, exit code 2.

Run as a subprocess of the console script, so ``main()`` and the click that the installed
typer really uses are exercised (a CliRunner on the Typer app would bypass ``main()``).
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest


def _bordin() -> list[str]:
    script = Path(sys.executable).with_name("bordin")
    if script.exists():
        return [str(script)]
    found = shutil.which("bordin")
    return [found] if found else [sys.executable, "-m", "bordin"]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["score", "responses.csv"], "Missing option '--out' / '-o'"),
        (["report"], "Missing argument"),
        (["panel", "scores.csv", "--no-such-option"], "No such option: --no-such-option"),
        (["no-such-command"], "No such command 'no-such-command'"),
        (["feedback", "scores.csv", "--max-alerts", "many"], "Invalid value for '--max-alerts'"),
        (["meta", "--level", "x"], "Invalid value for '--level'"),
    ],
)
def test_a_usage_error_is_one_line_and_exit_code_2(
    args: list[str], message: str, tmp_path: Path
) -> None:
    done = subprocess.run(
        [*_bordin(), *args], capture_output=True, text=True, cwd=tmp_path, timeout=120
    )
    assert done.returncode == 2, done.stderr
    assert "Traceback" not in done.stderr
    lines = done.stderr.strip().splitlines()
    errors = [line for line in lines if line.startswith("error: ")]
    assert len(errors) == 1 and message in errors[0], done.stderr
    # at most the command's usage line besides the error line
    assert [line for line in lines if line not in errors][:1] == [
        line for line in lines if line.startswith("Usage: bordin")
    ]
    assert len(lines) <= 2, done.stderr
