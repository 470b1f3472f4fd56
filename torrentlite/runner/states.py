"""Job states, run levels and result display states: one vocabulary, stored as text."""
from __future__ import annotations

from enum import Enum


class JobState(str, Enum):
    """State of one plugin job (a ``PluginResultJob`` row), valued exactly as the real server stores it."""

    COMPLETED = "Completed"
    ERROR = "Error"
    STARTED = "Started"
    DECLINED = "Declined"
    UNKNOWN = "Unknown"
    QUEUED = "Queued"
    PENDING = "Pending"
    RESOURCE = "Resource"
    TIMED_OUT = "Timed Out"
    CANCELLED = "Cancelled"
    ARCHIVED = "Archived"

    def __str__(self) -> str:
        return self.value

    @property
    def is_active(self) -> bool:
        return self in ACTIVE

    @property
    def is_terminal(self) -> bool:
        return self in TERMINAL

    @property
    def label(self) -> str:
        """Human text; only "Resource" differs from its stored value."""
        return STATE_LABELS.get(self, self.value)


ACTIVE = frozenset({JobState.PENDING, JobState.QUEUED, JobState.STARTED})
TERMINAL = frozenset(s for s in JobState if s not in ACTIVE)
STATE_LABELS = {JobState.RESOURCE: "Exceeded Resource Limits"}

# Not a job state: PluginResult.state() shows it when the launch was refused by validation.
FAILED_VALIDATION = "Failed Validation"


class RunLevel(str, Enum):
    """When in the analysis pipeline a plugin runs; members are declared in pipeline order."""

    PRE = "pre"
    BLOCK = "block"
    SEPARATOR = "separator"
    DEFAULT = "default"
    POST = "post"
    LAST = "last"

    def __str__(self) -> str:
        return self.value

    @property
    def order(self) -> int:
        """Position in the pipeline (0 = first); sort run levels with ``key=lambda l: l.order``."""
        return RUN_LEVEL_ORDER.index(self)

    @classmethod
    def parse(cls, text: str) -> "RunLevel":
        """Accept the stored value in any case ("DEFAULT", "default")."""
        return cls(str(text).strip().lower())


RUN_LEVEL_ORDER = tuple(RunLevel)
