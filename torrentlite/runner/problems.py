"""A problem found in a plugin folder or archive: what, where (file and line) and how bad."""
from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Optional

ERROR = "error"
WARNING = "warning"


@dataclass(frozen=True)
class Problem:
    """One finding. `error`s are what the installer refuses; `warning`s are what would trip at run time."""

    message: str
    file: str = ""
    line: Optional[int] = None
    severity: str = ERROR

    def __str__(self) -> str:
        where = self.file + (":%d" % self.line if self.line else "")
        return "%s%s: %s" % (where + ": " if where else "", self.severity, self.message)

    def as_dict(self) -> dict:
        return {"file": self.file, "line": self.line, "severity": self.severity, "message": self.message}


def errors(problems) -> list:
    return [p for p in problems if p.severity == ERROR]


def line_of(path: Path, pattern: str) -> Optional[int]:
    """The 1-based number of the first line of `path` matching regular expression `pattern`, or None."""
    try:
        text = Path(path).read_text(encoding="utf-8", errors="replace")
    except OSError:
        return None
    regex = re.compile(pattern)
    for number, line in enumerate(text.splitlines(), 1):
        if regex.search(line):
            return number
    return None
