"""The Python 2.7 plugin environment for tests: found or failed (CI), built once and cached across sessions."""
from __future__ import annotations

import hashlib
import os
import time
from pathlib import Path

import pytest

from torrentlite.runner import legacy_env


def python2_or_skip() -> str:
    """A Python 2.7 interpreter; without one the test fails in CI (CI=true) and is skipped elsewhere."""
    try:
        return legacy_env.find_python2(os.environ.get("TORRENTLITE_PYTHON2", ""))
    except legacy_env.LegacyEnvError as exc:
        if os.environ.get("CI") == "true":
            pytest.fail(f"CI must have Python 2.7 for the legacy plugin tests: {exc}")
        pytest.skip(f"Python 2.7 is not installed, so Python 2 plugins cannot run here: {exc}")


def cached_env(python2: str) -> Path:
    """A data-directory-like folder holding a built ``plugin-env``; built on first use, reused afterwards."""
    key = hashlib.sha256("\n".join([python2, legacy_env.VIRTUALENV, *legacy_env.PACKAGES]).encode()).hexdigest()
    base = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "torrentlite-tests" / key[:16]
    if legacy_env.legacy_python(base) is not None:
        return base
    deadline = time.monotonic() + 900
    while True:
        try:
            legacy_env.build(base, python2, log=lambda _line: None)
            return base
        except legacy_env.LegacyEnvError as exc:
            # Another test session is building the same cache: wait for its marker.
            if "another build" not in str(exc) or time.monotonic() > deadline:
                raise
            time.sleep(2)
            if legacy_env.legacy_python(base) is not None:
                return base


def link_env(data_path: Path, cache: Path) -> Path:
    """Make ``data_path`` use the cached environment (as if `plugin-env build` had run there)."""
    link = legacy_env.env_root(data_path)
    if not link.exists():
        link.symlink_to(legacy_env.env_root(cache), target_is_directory=True)
    return legacy_env.legacy_python(data_path)
