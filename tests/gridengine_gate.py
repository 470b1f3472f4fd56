"""Whether the DRMAA tests can run here: Grid Engine reachable, or a clear skip (a failure where it must be)."""
from __future__ import annotations

import functools
import os

import pytest

from torrentlite.runner.executor import ExecutorUnavailable

HOW_TO = ("to run them: as root `eval \"$(bash scripts/gridengine_localhost.sh)\"`, "
          "`pip install -e '.[drmaa]'`, and start pytest with "
          "GLIBC_TUNABLES=glibc.rtld.optional_static_tls=16384")


def required() -> bool:
    """CI, or TORRENTLITE_REQUIRE_GRIDENGINE=1: a missing Grid Engine fails the tests instead of skipping them."""
    return os.environ.get("TORRENTLITE_REQUIRE_GRIDENGINE") == "1" or os.environ.get("CI") == "true"


@functools.lru_cache(maxsize=None)
def problem() -> str:
    from torrentlite.runner.drmaa import DrmaaExecutor

    try:
        DrmaaExecutor().check()
    except ExecutorUnavailable as exc:
        return str(exc)
    return ""


def need_gridengine() -> None:
    """Skip (or, where required, fail) the calling test when Grid Engine cannot be used from this process."""
    reason = problem()
    if not reason:
        return
    if required():
        pytest.fail(f"Grid Engine is required here but cannot be used: {reason}", pytrace=False)
    pytest.skip(f"Grid Engine not available ({reason}); {HOW_TO}")
