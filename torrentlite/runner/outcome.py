"""The marker files a launch script leaves in its working directory, and how an ending maps to a job state."""
from __future__ import annotations

import signal
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Optional, Tuple

from .fsio import read_text
from .states import JobState

if TYPE_CHECKING:  # pragma: no cover
    from .executor import JobSpec

# Protocol between the launch script and every executor (local, inline, DRMAA):
#   <workdir>/.torrentlite/<key>.started   "<pid> <epoch>"          written first thing by the script
#   <workdir>/.torrentlite/<key>.exit      "<code> <kind> <epoch>"  written last (or by a trap), atomically
# <key> is $TORRENTLITE_JOB_ID, falling back to $JOB_ID: a DRMAA executor passes TORRENTLITE_JOB_ID in the
# job environment because Grid Engine sets JOB_ID to its own number.
STATE_DIRNAME = ".torrentlite"
JOB_KEY_ENV = "TORRENTLITE_JOB_ID"
# A per-job random token in every process's environment: finds descendants that left the process tree.
JOB_TOKEN_ENV = "TORRENTLITE_JOB_TOKEN"

KINDS = ("completed", "error", "terminated", "interrupted", "timedout")

# Real queue: soft runtime limit sends SIGUSR1, the hard limit SIGKILL this many seconds later.
TIMEOUT_KILL_AFTER = 5.0


@dataclass(frozen=True)
class Outcome:
    """What the launch script recorded when it ended."""

    exit_code: int
    kind: str
    finished_at: Optional[float] = None


def state_dir(workdir: Path) -> Path:
    return Path(workdir) / STATE_DIRNAME


def started_path(workdir: Path, job_id: int) -> Path:
    return state_dir(workdir) / f"{job_id}.started"


def exit_path(workdir: Path, job_id: int) -> Path:
    return state_dir(workdir) / f"{job_id}.exit"


def clear_markers(job: "JobSpec") -> None:
    """Remove markers a previous attempt with the same key left (before a submit)."""
    for path in (started_path(job.workdir, job.job_id), exit_path(job.workdir, job.job_id)):
        try:
            path.unlink()
        except FileNotFoundError:
            pass


def read_started(job: "JobSpec") -> Optional[float]:
    """Epoch seconds at which the script started, or None if it has not (yet) written its marker."""
    try:
        fields = read_text(started_path(job.workdir, job.job_id)).split()
    except (FileNotFoundError, NotADirectoryError):
        return None
    try:
        return float(fields[1])
    except (IndexError, ValueError):
        return 0.0


def read_outcome(job: "JobSpec") -> Optional[Outcome]:
    """The exit file of ``job``, or None if absent or unreadable (it is renamed into place, never half-written)."""
    try:
        fields = read_text(exit_path(job.workdir, job.job_id)).split()
    except (FileNotFoundError, NotADirectoryError):
        return None
    try:
        code = int(fields[0])
    except (IndexError, ValueError):
        return None
    kind = fields[1] if len(fields) > 1 and fields[1] in KINDS else ("completed" if code == 0 else "error")
    try:
        finished = float(fields[2]) if len(fields) > 2 else None
    except ValueError:
        finished = None
    return Outcome(code, kind, finished)


def normalise_returncode(returncode: Optional[int]) -> Optional[int]:
    """Popen reports death by signal N as -N; the shell and Grid Engine report 128+N. Use the latter."""
    if returncode is not None and returncode < 0:
        return 128 - returncode
    return returncode


def finish_state(exit_code: Optional[int], timed_out: bool = False, cancelled: bool = False) -> JobState:
    """Final state of a job: a cancel wins over a timeout, which wins over the exit status (0 → Completed)."""
    if cancelled:
        return JobState.CANCELLED
    if timed_out:
        return JobState.TIMED_OUT
    return JobState.COMPLETED if exit_code == 0 else JobState.ERROR


def _signal_text(code: int) -> str:
    try:
        return f"killed by signal {code - 128} ({signal.Signals(code - 128).name})"
    except ValueError:
        return f"exit status {code}"


def explain(exit_code: Optional[int], outcome: Optional[Outcome], timed_out: bool, cancelled: bool,
            missing: str) -> str:
    """Human reason for a final state."""
    if cancelled:
        return "cancelled by request"
    if timed_out:
        return "wall-clock limit exceeded"
    if exit_code is None:
        return missing
    if outcome is not None:
        if outcome.kind == "terminated":
            return f"terminated by SIGTERM (exit status {exit_code})"
        if outcome.kind == "interrupted":
            return f"interrupted by SIGINT (exit status {exit_code})"
        return "plugin completed" if exit_code == 0 else f"plugin failed with exit status {exit_code}"
    # No exit file: the launch script itself never reached its end or a trap.
    if exit_code == 0:
        return "exit status 0"
    if exit_code > 128:
        return _signal_text(exit_code) + " before the launch script could record its status"
    if exit_code == 2:
        return "exit status 2 without a recorded status (bash syntax error in the launch script?)"
    return f"exit status {exit_code} without a recorded status"


def conclude(job: "JobSpec", *, returncode: Optional[int] = None, timed_out: bool = False,
             cancelled: bool = False,
             missing: str = "process ended without recording its exit status"
             ) -> Tuple[JobState, Optional[int], str]:
    """Combine the exit file with what the executor saw into ``(state, exit_code, reason)``.

    The exit file is preferred over ``returncode`` (the launch script's own process status, when the executor
    has it) because it is what survives a server restart and what a DRMAA job leaves. ``missing`` is the
    reason used when neither exists.
    """
    outcome = read_outcome(job)
    if outcome is not None and outcome.kind == "timedout":
        timed_out = True
    code = outcome.exit_code if outcome is not None else normalise_returncode(returncode)
    state = finish_state(code, timed_out, cancelled)
    return state, code, explain(code, outcome, timed_out, cancelled, missing)


def shell_functions() -> str:
    """Bash functions ``tl_started`` and ``tl_finished CODE KIND`` that write the marker files.

    They resolve the directory from the working directory at script start, so the plugin may ``cd`` freely.
    """
    return f"""\
TL_STATE_DIR="$PWD/{STATE_DIRNAME}"
TL_JOB_KEY="${{{JOB_KEY_ENV}:-${{JOB_ID:-0}}}}"
tl_started() {{
    mkdir -p "$TL_STATE_DIR" 2>/dev/null || true
    printf '%s %s\\n' "$$" "$(date +%s)" > "$TL_STATE_DIR/$TL_JOB_KEY.started" 2>/dev/null || true
}}
tl_finished() {{
    mkdir -p "$TL_STATE_DIR" 2>/dev/null || true
    printf '%s %s %s\\n' "$1" "$2" "$(date +%s)" > "$TL_STATE_DIR/$TL_JOB_KEY.exit.$$" 2>/dev/null \\
        && mv -f "$TL_STATE_DIR/$TL_JOB_KEY.exit.$$" "$TL_STATE_DIR/$TL_JOB_KEY.exit" 2>/dev/null || true
}}
"""
