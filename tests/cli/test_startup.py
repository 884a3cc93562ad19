"""Start-up: the light commands import none of the heavy modules (what makes start-up slow), checked in a
fresh interpreter. Timings are printed by bench/bench_startup.py, never asserted here."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.cli_support import ENV

# Imported by the command that runs, never by the CLI's module level.
HEAVY = ("httpx", "anyio", "pydantic", "pydantic_settings", "structlog", "rich", "rich.traceback",
         "importlib.metadata", "sqlite3", "betbot.engine", "betbot.lifecycle", "betbot.strategies",
         "betbot.core.session", "fastapi", "starlette", "uvicorn", "betbot.serve")

_PROBE = """
import json, sys
from betbot.cli import main
try:
    main(sys.argv[2:])
except SystemExit as exc:
    code = exc.code
heavy = json.loads(sys.argv[1])
sys.stderr.write("\\nLOADED " + json.dumps(sorted(m for m in heavy if m in sys.modules)) + "\\n")
"""


# Not measured by coverage (.ci/run): its start-up hook in every Python process imports sqlite3 for its data.
_UNMEASURED = {k: v for k, v in ENV.items() if k not in ("COVERAGE_PROCESS_CONFIG", "COVERAGE_PROCESS_START")}


def loaded_after(*args: str) -> list[str]:
    """The heavy modules in sys.modules after `betbot ARGS` ran in a fresh interpreter."""
    result = subprocess.run([sys.executable, "-c", _PROBE, json.dumps(HEAVY), *args], capture_output=True,
                            text=True, env=_UNMEASURED, timeout=60, check=False)
    marker = result.stderr.rpartition("LOADED ")[2]
    assert marker, result.stderr
    loaded: list[str] = json.loads(marker)
    return loaded


@pytest.mark.parametrize("args", [["--help"], ["run", "--help"], ["health", "--help"], ["config", "--help"],
                                  ["config", "show", "--help"], ["balance", "--help"], ["fake-server", "--help"],
                                  ["serve", "--help"]])
def test_help_imports_nothing_heavy(args: list[str]) -> None:
    assert loaded_after(*args) == []


def test_the_version_is_read_only_when_asked_for() -> None:
    assert loaded_after("-V") == ["importlib.metadata"]


def test_betbot_help_imports_none_of_the_named_modules() -> None:
    # The issue's own list, spelled out.
    loaded = loaded_after("--help")
    for name in ("httpx", "anyio", "pydantic", "structlog", "rich.traceback"):
        assert name not in loaded


def test_health_reads_a_beat_without_the_engine_or_the_network(tmp_path: Path) -> None:
    loaded = loaded_after("health", "--heartbeat-file", str(tmp_path / "beat.json"))
    for name in ("httpx", "pydantic", "pydantic_settings", "structlog", "rich", "sqlite3", "betbot.lifecycle",
                 "betbot.strategies", "betbot.core.session", "fastapi", "uvicorn", "betbot.serve"):
        assert name not in loaded


def test_the_probe_sees_what_a_command_imports() -> None:
    # The check could fail: a command that does the work imports the heavy modules.
    loaded = loaded_after("strategies", "--json")
    assert "betbot.strategies" in loaded
    assert "pydantic" in loaded
