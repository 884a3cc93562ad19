"""The install hint for an optional extra names what works where betbot was installed from."""

from __future__ import annotations

import json
import shlex
import sys
from importlib import metadata
from typing import Any

import pytest

from betbot import extras


class FakeDistribution:
    def __init__(self, direct_url: dict[str, Any] | None) -> None:
        self.direct_url = direct_url

    def read_text(self, name: str) -> str | None:
        assert name == "direct_url.json"
        return None if self.direct_url is None else json.dumps(self.direct_url)


def installed(monkeypatch: pytest.MonkeyPatch, direct_url: dict[str, Any] | None) -> None:
    monkeypatch.setattr(metadata, "distribution", lambda name: FakeDistribution(direct_url))


PIP = f"{shlex.quote(sys.executable)} -m pip install"


def test_from_the_package_index(monkeypatch: pytest.MonkeyPatch) -> None:
    installed(monkeypatch, None)
    assert extras.install_hint("report", "matplotlib") == f"{PIP} 'betbot-duckdice[report]'"


def test_from_a_clone(monkeypatch: pytest.MonkeyPatch) -> None:
    installed(monkeypatch, {"url": "file:///home/me/betbot", "dir_info": {}})
    assert extras.install_hint("report", "matplotlib") == f"{PIP} '/home/me/betbot[report]'"


def test_from_a_clone_editably(monkeypatch: pytest.MonkeyPatch) -> None:
    installed(monkeypatch, {"url": "file:///home/me/my%20clone", "dir_info": {"editable": True}})
    assert extras.install_hint("fake", "uvicorn") == f"{PIP} -e '/home/me/my clone[fake]'"


def test_from_a_wheel_url_is_the_package_index_name(monkeypatch: pytest.MonkeyPatch) -> None:
    installed(monkeypatch, {"url": "https://example.org/betbot.whl", "archive_info": {}})
    assert extras.install_hint("cluster", "dask") == f"{PIP} 'betbot-duckdice[cluster]'"


def test_not_installed_at_all_names_the_packages(monkeypatch: pytest.MonkeyPatch) -> None:
    def missing(name: str) -> Any:
        raise metadata.PackageNotFoundError(name)

    monkeypatch.setattr(metadata, "distribution", missing)
    assert extras.install_hint("report", "matplotlib") == f"{PIP} matplotlib"
