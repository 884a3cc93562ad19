"""Test-wide isolation: nothing a test runs may touch the user's own journal or caches, and no API key a
test registers for redaction outlives it.

XDG_DATA_HOME is set at import, before any test module reads the environment (the CLI tests copy it into
their subprocesses' environment when they are imported).
"""

from __future__ import annotations

import atexit
import os
import shutil
import tempfile
from collections.abc import Iterator

import pytest

from betbot.redact import registered_secrets, unregister_secret

_data_home = tempfile.mkdtemp(prefix="betbot-tests-data-")
os.environ["XDG_DATA_HOME"] = _data_home
atexit.register(shutil.rmtree, _data_home, ignore_errors=True)


@pytest.fixture(autouse=True)
def forget_registered_keys() -> Iterator[None]:
    """Unregister every secret registered during the test: a key left registered would be redacted from the
    next test's output too, hiding a leak that test exists to catch."""
    before = registered_secrets()
    yield
    for secret in registered_secrets() - before:
        unregister_secret(secret)
