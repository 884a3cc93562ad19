"""Test-wide isolation: nothing a test runs may touch the user's own journal or caches.

Set at import, before any test module reads the environment (the CLI tests copy it into their
subprocesses' environment when they are imported).
"""

from __future__ import annotations

import atexit
import os
import shutil
import tempfile

_data_home = tempfile.mkdtemp(prefix="betbot-tests-data-")
os.environ["XDG_DATA_HOME"] = _data_home
atexit.register(shutil.rmtree, _data_home, ignore_errors=True)
