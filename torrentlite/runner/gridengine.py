"""Reaching Grid Engine: where it is, the one DRMAA session of this process, and qstat/qacct read-outs."""
from __future__ import annotations

import atexit
import os
import re
import shutil
import subprocess
import threading
import uuid
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Dict, Mapping, MutableMapping, Optional

from .executor import ExecutorUnavailable

# libdrmaa links jemalloc, whose initial-exec TLS does not fit into a running process's static TLS block
# ("cannot allocate memory in static TLS block"); glibc reads this tunable only when a process starts.
TLS_TUNABLE = "glibc.rtld.optional_static_tls=16384"
DEFAULT_SGE_ROOT = "/var/lib/gridengine"
DEFAULT_LIBRARY = "/usr/lib/gridengine-drmaa/lib/libdrmaa.so.1.0"
INSTALL_HINT = "pip install 'torrentlite[drmaa]'"


class GridEngineUnavailable(ExecutorUnavailable):
    """Grid Engine cannot be used from this process; the message names what is missing."""


def has_tls_tunable(environ: Mapping[str, str]) -> bool:
    return "optional_static_tls" in environ.get("GLIBC_TUNABLES", "") or \
        "libjemalloc" in environ.get("LD_PRELOAD", "") or "libdrmaa" in environ.get("LD_PRELOAD", "")


def with_tls_tunable(environ: Mapping[str, str]) -> Dict[str, str]:
    """A copy of ``environ`` with the static-TLS tunable added (for starting a process that loads libdrmaa)."""
    env = dict(environ)
    if not has_tls_tunable(env):
        env["GLIBC_TUNABLES"] = ":".join(t for t in (env.get("GLIBC_TUNABLES", ""), TLS_TUNABLE) if t)
    return env


def configure_environment(settings: Mapping, environ: MutableMapping[str, str] = os.environ) -> None:
    """Export SGE_ROOT, SGE_CELL and DRMAA_LIBRARY_PATH from the settings (or defaults) for libdrmaa.

    :raises GridEngineUnavailable: no Grid Engine installation or DRMAA library was found.
    """
    root = settings.get("sge_root") or environ.get("SGE_ROOT") or ""
    if not root and Path(DEFAULT_SGE_ROOT).is_dir():
        root = DEFAULT_SGE_ROOT
    if not root:
        raise GridEngineUnavailable("Grid Engine not found: SGE_ROOT is not set (set sge_root to the Grid Engine "
                                    f"installation, e.g. {DEFAULT_SGE_ROOT})")
    cell = settings.get("sge_cell") or environ.get("SGE_CELL") or "default"
    if not Path(root, cell, "common", "act_qmaster").is_file():
        raise GridEngineUnavailable(f"Grid Engine cell not found: {Path(root, cell, 'common', 'act_qmaster')} "
                                    "does not exist (check sge_root and sge_cell)")
    library = settings.get("drmaa_library") or environ.get("DRMAA_LIBRARY_PATH") or ""
    if not library and Path(DEFAULT_LIBRARY).is_file():
        library = DEFAULT_LIBRARY
    if not library or not Path(library).is_file():
        raise GridEngineUnavailable(f"DRMAA library not found{': ' + library if library else ''} (set "
                                    "drmaa_library to libdrmaa.so.1.0; Debian's gridengine-drmaa1.0 installs "
                                    f"{DEFAULT_LIBRARY})")
    environ.update({"SGE_ROOT": str(root), "SGE_CELL": str(cell), "DRMAA_LIBRARY_PATH": str(library)})


class Session:
    """The process's one DRMAA session (DRMAA allows one), opened on first use and reopened after an outage.

    Calls are serialised; a call that finds the qmaster gone closes the session so the next one reconnects.
    """

    def __init__(self) -> None:
        self._lock = threading.RLock()
        self._module = None
        self._session = None
        self.token = ""          # changes with every (re)initialisation
        self.contact = ""

    def module(self):
        """The ``drmaa`` package, imported on first use.

        :raises GridEngineUnavailable: the package is missing or libdrmaa cannot be loaded.
        """
        if self._module is not None:
            return self._module
        try:
            import drmaa
        except ImportError:
            raise GridEngineUnavailable(f"the Python package 'drmaa' is not installed ({INSTALL_HINT})") from None
        except (RuntimeError, OSError) as exc:
            text = str(exc)
            if "static TLS" in text:
                raise GridEngineUnavailable(
                    f"libdrmaa cannot be loaded into this process ({text}); start it with "
                    f"GLIBC_TUNABLES={TLS_TUNABLE} in its environment") from None
            raise GridEngineUnavailable(f"the DRMAA library cannot be loaded: {text}") from None
        self._module = drmaa
        return drmaa

    def open(self):
        """The initialised session.

        :raises GridEngineUnavailable: the library is missing or the qmaster cannot be reached.
        """
        with self._lock:
            if self._session is not None:
                return self._session
            drmaa = self.module()
            session = drmaa.Session()
            try:
                session.initialize()
            except drmaa.errors.AlreadyActiveSessionException:
                pass
            except drmaa.errors.DrmCommunicationException as exc:
                raise GridEngineUnavailable(f"cannot reach the Grid Engine qmaster ({_one_line(exc)}); "
                                            "is sge_qmaster running?") from None
            except drmaa.errors.DrmaaException as exc:
                raise GridEngineUnavailable(f"Grid Engine refused a DRMAA session: {_one_line(exc)}") from None
            if self.token == "":
                atexit.register(self.close)   # lets Grid Engine drop the session's records at exit
            self._session = session
            self.token = uuid.uuid4().hex
            try:
                info, implementation = str(session.drmsInfo), str(session.drmaaImplementation)
                self.contact = info if implementation in ("", info) else f"{info}, {implementation}"
            except Exception:
                self.contact = "Grid Engine"
            return session

    def call(self, method: str, *args):
        """``session.<method>(*args)``; a lost qmaster becomes GridEngineUnavailable and closes the session."""
        with self._lock:
            session = self.open()
            drmaa = self._module
            try:
                return getattr(session, method)(*args)
            except drmaa.errors.DrmCommunicationException as exc:
                self._drop()
                raise GridEngineUnavailable(f"cannot reach the Grid Engine qmaster ({_one_line(exc)})") from None

    def errors(self):
        return self.module().errors

    def _drop(self) -> None:
        session, self._session = self._session, None
        if session is not None:
            try:
                session.exit()
            except Exception:
                pass

    def close(self) -> None:
        with self._lock:
            self._drop()


SESSION = Session()


def _one_line(exc: BaseException) -> str:
    return " ".join(str(exc).split())


# ---- command-line read-outs (cluster-wide facts DRMAA does not give) ----------------------------------------

def _run(argv, timeout: float = 20.0) -> Optional[str]:
    exe = shutil.which(argv[0]) or (os.path.join(os.environ.get("SGE_ROOT", ""), "bin", argv[0]))
    if not exe or not os.path.exists(exe):
        return None
    try:
        done = subprocess.run([exe, *argv[1:]], capture_output=True, text=True, timeout=timeout,
                              stdin=subprocess.DEVNULL)
    except (OSError, subprocess.TimeoutExpired):
        return None
    return done.stdout if done.returncode == 0 else None


def job_counts() -> dict:
    """Jobs Grid Engine holds, as ``qstat -u '*'`` lists them: totals by owner and state, and per queue.

    :raises GridEngineUnavailable: qstat is missing or cannot reach the qmaster.
    """
    text = _run(["qstat", "-u", "*", "-xml"])
    if text is None:
        raise GridEngineUnavailable("qstat failed: Grid Engine is not reachable from this machine")
    try:
        root = ET.fromstring(text)
    except ET.ParseError as exc:
        raise GridEngineUnavailable(f"qstat gave unreadable output: {exc}") from None
    jobs = []
    for job in root.iter("job_list"):
        jobs.append({"owner": job.findtext("JB_owner") or "", "state": job.findtext("state") or "",
                     "queue": (job.findtext("queue_name") or "").split("@")[0],
                     "running": job.get("state") == "running"})
    queues: Dict[str, dict] = {}
    for job in jobs:
        if job["running"]:
            entry = queues.setdefault(job["queue"] or "(none)", {"running": 0})
            entry["running"] += 1
    return {"jobs": jobs, "queues": queues}


_QACCT_NUMBER = re.compile(r"^([0-9]+(?:\.[0-9]+)?)([KMGT]?)B?s?$")
_SCALE = {"": 1, "K": 1024, "M": 1024 ** 2, "G": 1024 ** 3, "T": 1024 ** 4}


def accounting(ge_id: str) -> Dict[str, float]:
    """Numeric ``qacct -j`` fields of a finished job (empty until Grid Engine has written its record).

    qacct prints "4s", "0.025s", "4.977MB"; memory-like values are scaled back to the raw number (so
    ``ru_maxrss`` is in KiB, as in DRMAA's resource usage).
    """
    text = _run(["qacct", "-j", str(ge_id)], timeout=10.0)
    fields: Dict[str, float] = {}
    for line in (text or "").splitlines():
        key, _, value = line.partition(" ")
        match = _QACCT_NUMBER.match(value.strip())
        if key and match:
            fields[key] = float(match.group(1)) * _SCALE[match.group(2)]
    return fields


__all__ = ["GridEngineUnavailable", "Session", "SESSION", "configure_environment", "has_tls_tunable",
           "with_tls_tunable", "job_counts", "accounting", "TLS_TUNABLE", "DEFAULT_LIBRARY", "DEFAULT_SGE_ROOT"]
