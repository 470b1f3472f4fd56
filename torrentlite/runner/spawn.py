"""Starting a job's launch script: its clean environment, its limits, and its niceness."""
from __future__ import annotations

import atexit
import functools
import getpass
import os
import queue
import secrets
import shutil
import socket
import stat
import subprocess
import sys
import tempfile
import threading
from pathlib import Path
from typing import TYPE_CHECKING, Dict, List, Optional, Tuple

from .fsio import ensure_dir
from .outcome import JOB_KEY_ENV, JOB_TOKEN_ENV

if TYPE_CHECKING:  # pragma: no cover
    from .executor import JobSpec

# bash reads this file before the launch script (BASH_ENV): no core dumps and the address-space limit are set
# in the script's own process, without a shell started just to set them.
LIMITS_FILE = Path(__file__).with_name("joblimits.bash")
AS_ENV = "TORRENTLITE_JOB_AS_KIB"
# Variables that would make bash skip BASH_ENV (POSIX mode) or replace it: a job whose environment has one
# gets its limits from a small POSIX shell prelude instead.
_STARTUP_NAMES = frozenset({"BASH_ENV", "ENV", "POSIXLY_CORRECT", "SHELLOPTS", "BASHOPTS", AS_ENV})
_PRELUDE = 'ulimit -c 0; if [ "$1" != unlimited ]; then ulimit -v "$1" || exit 125; fi; shift; exec "$@"'
_PRELUDE_SHELL = "/bin/sh" if os.path.exists("/bin/sh") else "/bin/bash"


def job_environment(job: "JobSpec", *, tmpdir: str, token: str) -> Dict[str, str]:
    """The clean environment of a job: a few basics, then ``job.env``, then what the queue itself sets."""
    env = {
        # The server's interpreter first, so "python3" in a launch.sh plugin is one that has our packages.
        "PATH": os.pathsep.join([os.path.dirname(sys.executable), "/usr/local/bin", "/usr/bin", "/bin"]),
        "HOME": os.environ.get("HOME") or os.path.expanduser("~"),
        "LANG": os.environ.get("LANG") or "C.UTF-8",
        "USER": _user(),
    }
    env.update({str(k): str(v) for k, v in job.env.items()})
    env.update({
        "JOB_ID": str(job.job_id),
        "JOB_NAME": job.name,
        "NSLOTS": "1",
        "HOSTNAME": _HOSTNAME,
        "TMPDIR": tmpdir,
        "TMP": tmpdir,
        JOB_KEY_ENV: str(job.job_id),
        JOB_TOKEN_ENV: token,
    })
    return env


@functools.lru_cache(maxsize=None)
def _user() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return str(os.getuid())


_HOSTNAME = socket.gethostname()


def address_space_kib(job: "JobSpec", default_memory: Optional[int] = None) -> str:
    memory = job.limits.memory_bytes if job.limits.memory_bytes is not None else default_memory
    return "unlimited" if not memory else str(max(1, int(memory) // 1024))


def launch_command(job: "JobSpec", env: Dict[str, str], default_memory: Optional[int] = None) -> List[str]:
    """argv that runs ``/bin/bash <script> <args>`` with no core dumps and the job's address-space limit.

    The limits come from bash's own startup file (``env`` gains the two variables that name it), so the
    job's process is the launch script from its first instruction, as on a batch queue. Niceness is not
    in the command: see :func:`start_process`.
    """
    as_kib = address_space_kib(job, default_memory)
    script = ["/bin/bash", str(job.script), *job.args]
    if _STARTUP_NAMES.isdisjoint(job.env) and LIMITS_FILE.is_file():
        env["BASH_ENV"] = str(LIMITS_FILE)
        env[AS_ENV] = as_kib
        return script
    return [_PRELUDE_SHELL, "-c", _PRELUDE, "torrentlite-job", as_kib, *script]


class _NicedSpawner:
    """A thread that starts processes at ``increment`` more niceness than the server has.

    Linux keeps niceness per thread and a new process takes the niceness of the thread that created it, so
    a job started here is niced before its first instruction, without running ``nice`` for every job. The
    thread lowers its own priority once and does nothing else, so the server's other threads keep theirs.
    """

    def __init__(self, increment: int) -> None:
        self._calls: "queue.SimpleQueue" = queue.SimpleQueue()
        threading.Thread(target=self._run, args=(increment,), name=f"torrentlite-spawn-nice{increment}",
                         daemon=True).start()

    def _run(self, increment: int) -> None:
        try:
            os.setpriority(os.PRIO_PROCESS, 0, min(19, os.getpriority(os.PRIO_PROCESS, 0) + increment))
        except OSError:
            pass        # as nice(1): without privilege a negative increment is refused and the job runs anyway
        while True:
            call, box, done = self._calls.get()
            try:
                box.append((call(), None))
            except BaseException as exc:  # handed back to the caller
                box.append((None, exc))
            done.set()

    def run(self, call):
        box: list = []
        done = threading.Event()
        self._calls.put((call, box, done))
        done.wait()
        result, exc = box[0]
        if exc is not None:
            raise exc
        return result


_spawners: Dict[int, _NicedSpawner] = {}
_spawners_lock = threading.Lock()


def _niced(increment: int, call):
    if not increment:
        return call()
    with _spawners_lock:
        spawner = _spawners.get(increment)
        if spawner is None:
            spawner = _spawners[increment] = _NicedSpawner(increment)
    return spawner.run(call)


class _TmpDirs:
    """Private per-job TMPDIR folders; an ended job's folder, emptied, becomes the next job's.

    On ext4 making a folder (and the first file in it) means searching a new block group for a free
    inode, which can cost a millisecond; renaming an emptied folder to a fresh random name costs
    microseconds and gives the same thing: an empty folder only this user can enter, with a name no
    one could guess. A few are kept; the rest are removed as before.
    """

    KEEP = 8

    def __init__(self) -> None:
        self._spare: List[str] = []
        self._lock = threading.Lock()

    def take(self, job_id: int) -> str:
        prefix = f"torrentlite-job{job_id}-"
        with self._lock:
            spare = self._spare.pop() if self._spare else None
        if spare is not None:
            fresh = os.path.join(os.path.dirname(spare), prefix + secrets.token_hex(6))
            try:
                os.rename(spare, fresh)
                return fresh
            except OSError:
                shutil.rmtree(spare, ignore_errors=True)
        return tempfile.mkdtemp(prefix=prefix)

    def give_back(self, path: str, reuse: bool = True) -> None:
        """Done with ``path``: it is gone under that name; emptied, it is kept for another job (``reuse``:
        nothing of the job still runs)."""
        if reuse and len(self._spare) < self.KEEP and self._empty(path):
            spare = os.path.join(os.path.dirname(path), "torrentlite-spare-" + secrets.token_hex(6))
            try:
                os.rename(path, spare)
            except OSError:
                pass
            else:
                with self._lock:
                    self._spare.append(spare)
                return
        if os.path.islink(path):
            os.unlink(path)         # a link the job put in its folder's place: never what it points to
        else:
            shutil.rmtree(path, ignore_errors=True)

    def clear(self) -> None:
        with self._lock:
            spare, self._spare = self._spare, []
        for path in spare:
            shutil.rmtree(path, ignore_errors=True)

    @staticmethod
    def _empty(path: str) -> bool:
        """Empty the folder itself (never what a symbolic link put in its place points to); reset its mode."""
        try:
            fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC)
        except OSError:
            return False
        try:
            if os.fstat(fd).st_uid != os.getuid():
                return False
            for name in os.listdir(fd):
                if stat.S_ISDIR(os.stat(name, dir_fd=fd, follow_symlinks=False).st_mode):
                    shutil.rmtree(name, dir_fd=fd)
                else:
                    os.unlink(name, dir_fd=fd)
            os.fchmod(fd, 0o700)
            return not os.listdir(fd)
        except OSError:
            return False
        finally:
            os.close(fd)


TMPDIRS = _TmpDirs()
atexit.register(TMPDIRS.clear)


def start_process(job: "JobSpec", *, default_memory: Optional[int] = None) -> Tuple[subprocess.Popen, str, str]:
    """Start the launch script in a new session; return ``(popen, token, tmpdir)``.

    stdin is closed and stdout+stderr are appended to ``job.log_path``. Hand ``tmpdir`` to
    ``TMPDIRS.give_back`` once the job has ended.
    """
    token = secrets.token_hex(12)
    tmpdir = TMPDIRS.take(job.job_id)
    env = job_environment(job, tmpdir=tmpdir, token=token)
    argv = launch_command(job, env, default_memory)
    try:
        ensure_dir(job.log_path.parent)
        with open(job.log_path, "ab") as log:
            proc = _niced(int(job.limits.nice or 0), lambda: subprocess.Popen(
                argv, cwd=str(job.workdir), env=env, stdin=subprocess.DEVNULL, stdout=log,
                stderr=subprocess.STDOUT, start_new_session=True, close_fds=True))
    except BaseException:
        TMPDIRS.give_back(tmpdir)
        raise
    return proc, token, tmpdir


__all__ = ["job_environment", "launch_command", "start_process", "address_space_kib", "LIMITS_FILE", "TMPDIRS"]
