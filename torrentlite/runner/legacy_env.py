"""The Python 2.7 plugin environment: find a 2.7 interpreter, build a virtualenv with what plugins import."""
from __future__ import annotations

import fcntl
import json
import os
import shutil
import subprocess
import time
from pathlib import Path
from typing import Callable, Iterable, List, Optional

from .inspect import PLUGINLIB

# What Torrent Suite 5.x gives plugins beside the standard library, pinned to the last releases with
# Python 2.7 wheels: the REST client and JSON codec most plugins import, Django 1.6 (Torrent Suite's own
# release) for render_to_string/settings.configure, numpy and pysam for the analysis plugins.
PACKAGES = ("requests==2.27.1", "simplejson==3.19.2", "Django==1.6.11", "numpy==1.16.6", "pysam==0.16.0.1")
IMPORTS = ("requests", "simplejson", "django", "numpy", "pysam")
# The last virtualenv that runs on, and creates environments for, Python 2.7.
VIRTUALENV = "virtualenv==20.15.1"

ENV_FOLDER = "plugin-env"
ENV_NAME = "python2.7"
MARKER = "torrentlite-env.json"
ENABLE_HINT = ("enable Python 2 plugins with `torrentlite plugin-env build` (it needs a Python 2.7 "
               "interpreter: python2.7 on PATH, a pyenv 2.7 version, or the python2 setting)")


class LegacyEnvError(RuntimeError):
    """The legacy environment cannot be found or built."""


def env_root(data_path: Path) -> Path:
    return Path(data_path) / ENV_FOLDER


def env_dir(data_path: Path) -> Path:
    return env_root(data_path) / ENV_NAME


def legacy_python(data_path: Path) -> Optional[Path]:
    """The environment's ``python`` when a build finished (its marker exists), else None."""
    folder = env_dir(data_path)
    python = folder / "bin" / "python"
    if (folder / MARKER).is_file() and os.access(python, os.X_OK):
        return python
    return None


def describe(data_path: Path) -> Optional[dict]:
    """What the last finished build recorded (interpreter, packages, time), or None."""
    if legacy_python(data_path) is None:
        return None
    try:
        return json.loads((env_dir(data_path) / MARKER).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def _version(python: str) -> Optional[tuple]:
    """(major, minor, real executable) of ``python``, or None when it does not run."""
    try:
        out = subprocess.run([python, "-c", "import sys; print('%d %d %s' % (sys.version_info[0], "
                                            "sys.version_info[1], sys.executable))"],
                             stdin=subprocess.DEVNULL, capture_output=True, timeout=20, text=True)
    except (OSError, subprocess.TimeoutExpired):
        return None
    parts = out.stdout.strip().split(" ", 2)
    if out.returncode != 0 or len(parts) != 3 or not parts[0].isdigit() or not parts[1].isdigit():
        return None
    return int(parts[0]), int(parts[1]), parts[2]


def _candidates(environ) -> Iterable[str]:
    for name in ("python2.7", "python2"):
        found = shutil.which(name, path=environ.get("PATH"))
        if found:
            yield found
    roots = [environ.get("PYENV_ROOT"), os.path.join(os.path.expanduser("~"), ".pyenv")]
    for root in [r for r in roots if r]:
        versions = Path(root, "versions")
        if versions.is_dir():
            for folder in sorted(versions.glob("2.7*"), reverse=True):
                yield str(folder / "bin" / "python2.7")


def find_python2(configured: str = "", environ=None) -> str:
    """The real path of a Python 2.7 interpreter: ``configured`` if set, else the first one found.

    :raises LegacyEnvError: the configured one is not Python 2.7, or none was found.
    """
    environ = os.environ if environ is None else environ
    if configured:
        version = _version(configured)
        if version is None or version[:2] != (2, 7):
            raise LegacyEnvError(f"the python2 setting names {configured!r}, which is not a working Python 2.7")
        return version[2]
    for candidate in _candidates(environ):
        version = _version(candidate)
        if version is not None and version[:2] == (2, 7):
            return version[2]
    raise LegacyEnvError("no Python 2.7 interpreter found (looked for python2.7 and python2 on PATH and in "
                         "pyenv's versions); install one or name it with the python2 setting")


def _run(argv: List[str], log: Callable[[str], None], env: Optional[dict] = None, timeout: float = 1800) -> None:
    log("$ " + " ".join(argv))
    try:
        proc = subprocess.run(argv, stdin=subprocess.DEVNULL, capture_output=True, text=True, env=env,
                              timeout=timeout)
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise LegacyEnvError(f"{argv[0]} could not run: {exc}") from None
    if proc.returncode != 0:
        lines = [line for line in (proc.stderr + proc.stdout).splitlines()
                 if line.strip() and "DEPRECATION" not in line and "is ignored" not in line]
        raise LegacyEnvError(f"{' '.join(argv[:4])} ... failed (exit {proc.returncode}): "
                             + (" / ".join(lines[-3:]) or "no output"))


def _quiet_pip_env() -> dict:
    env = dict(os.environ, PIP_DISABLE_PIP_VERSION_CHECK="1", PYTHONWARNINGS="ignore", PIP_NO_INPUT="1")
    env.pop("PYTHONPATH", None)
    env.pop("VIRTUAL_ENV", None)
    return env


def build(data_path: Path, python2: str, log: Callable[[str], None] = print) -> dict:
    """(Re)build ``<data dir>/plugin-env/python2.7`` from interpreter ``python2``; return its description.

    virtualenv is installed with the interpreter's own pip into a private folder (the interpreter itself is
    not changed), creates the environment, and pip installs :data:`PACKAGES` as wheels. The marker that makes
    the environment count is written last, so an interrupted build is never used.
    """
    root = env_root(data_path)
    root.mkdir(parents=True, exist_ok=True)
    with open(root / ".build.lock", "w") as lock:
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            raise LegacyEnvError("another build of the plugin environment is running") from None
        started = time.monotonic()
        version = _version(python2)
        if version is None or version[:2] != (2, 7):
            raise LegacyEnvError(f"{python2} is not a working Python 2.7")
        target, bootstrap = env_dir(data_path), root / "bootstrap"
        shutil.rmtree(target, ignore_errors=True)
        shutil.rmtree(bootstrap, ignore_errors=True)
        env = _quiet_pip_env()
        _run([python2, "-m", "pip", "install", "--quiet", "--no-warn-script-location", "--target",
              str(bootstrap), VIRTUALENV], log, env)
        _run([python2, "-m", "virtualenv", "--no-periodic-update", "--app-data", str(root / "app-data"),
              str(target)], log, dict(env, PYTHONPATH=str(bootstrap)))
        python = target / "bin" / "python"
        _run([str(python), "-m", "pip", "install", "--quiet", "--only-binary=:all:", *PACKAGES], log, env)
        _run([str(python), "-c", "import " + ", ".join(IMPORTS) + "; import ion.plugin, ion.utils.compress"],
             log, dict(env, PYTHONPATH=str(PLUGINLIB)))
        shutil.rmtree(bootstrap, ignore_errors=True)
        shutil.rmtree(root / "app-data", ignore_errors=True)
        doc = {"python": version[2], "python_version": "%d.%d" % version[:2], "packages": list(PACKAGES),
               "built": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
               "seconds": round(time.monotonic() - started, 1)}
        tmp = target / (MARKER + ".tmp")
        tmp.write_text(json.dumps(doc, indent=2) + "\n", encoding="utf-8")
        os.replace(tmp, target / MARKER)
        log(f"Python 2.7 plugin environment ready in {target} ({doc['seconds']} s)")
        return doc


def remove(data_path: Path) -> bool:
    """Delete the environment; True if there was one."""
    root = env_root(data_path)
    existed = root.exists()
    shutil.rmtree(root, ignore_errors=True)
    return existed


def missing_message(name: str, why: str) -> str:
    """The one line a Python 2 plugin's job prints (and records) when the environment is absent."""
    return f"{name} needs Python 2.7 ({why}), and this server has no Python 2.7 plugin environment: {ENABLE_HINT}."


__all__ = ["PACKAGES", "VIRTUALENV", "LegacyEnvError", "find_python2", "build", "remove", "legacy_python",
           "describe", "env_dir", "missing_message", "ENABLE_HINT"]
