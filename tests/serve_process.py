"""A real `betbot serve` process on 127.0.0.1 for the end-to-end tests: started, asked, killed."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

ADDRESS = re.compile(r"console and API on (http://127\.0\.0\.1:\d+)/")


@dataclass
class ServeProcess:
    process: subprocess.Popen[bytes]
    url: str
    token: str
    log: Path

    def get(self, path: str) -> Any:
        response = httpx.get(self.url + path, headers={"Authorization": f"Bearer {self.token}"}, timeout=10)
        response.raise_for_status()
        return response.json()

    def wait_until(self, what: str, check: Callable[[], bool], timeout: float = 60.0) -> None:
        """Poll the process (another process: no event to wait on) until `check` holds."""
        deadline = time.monotonic() + timeout
        while not check():
            if self.process.poll() is not None:
                raise AssertionError(f"serve exited with {self.process.returncode} waiting for {what}: "
                                     f"{self.log.read_text()[-3000:]}")
            if time.monotonic() > deadline:
                raise AssertionError(f"timed out waiting for {what}: {self.log.read_text()[-3000:]}")
            time.sleep(0.1)

    def sessions(self) -> dict[str, dict[str, Any]]:
        return {row["name"]: row for row in self.get("/api/v1/sessions")["sessions"]}

    def terminate(self, timeout: float = 60.0) -> int:
        self.process.send_signal(signal.SIGTERM)
        return self.process.wait(timeout)

    def kill(self) -> None:
        self.process.kill()
        self.process.wait(10)


def start_serve(data: Path, *args: str, env: dict[str, str] | None = None, name: str = "serve") -> ServeProcess:
    log = data / f"{name}.log"
    token_file = data / "serve-token"
    environ = {k: v for k, v in os.environ.items() if not k.startswith("BETBOT_")}
    environ.update({"XDG_DATA_HOME": str(data / "xdg"), "BETBOT_LOG_FORMAT": "json",
                    "PYTHONPATH": str(Path(__file__).resolve().parents[1]), **(env or {})})
    with log.open("wb") as out:
        process = subprocess.Popen([sys.executable, "-m", "betbot", "serve", "--port", "0", "--token-file",
                                    str(token_file), "--state-file", str(data / "serve-state.json"), *args],
                                   stdout=out, stderr=subprocess.STDOUT, env=environ)
    deadline = time.monotonic() + 60
    while True:
        found = ADDRESS.search(log.read_text(errors="replace"))
        if found:
            break
        if process.poll() is not None or time.monotonic() > deadline:
            process.kill()
            raise AssertionError(f"serve did not start: {log.read_text()[-3000:]}")
        time.sleep(0.05)
    return ServeProcess(process=process, url=found.group(1), token=token_file.read_text().strip(), log=log)
