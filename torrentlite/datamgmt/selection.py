"""Which files of a report belong to a category: Torrent Suite's pattern rules, and their size."""
from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Iterable

from torrentlite.datamgmt.filesets import INTR, FileSet


@lru_cache(maxsize=64)
def _compiled(patterns: tuple) -> re.Pattern | None:
    # One alternation matches where any single pattern would (re.match: anchored at the start only).
    return re.compile("|".join(f"(?:{p})" for p in patterns)) if patterns else None


def candidates(start_dir: str) -> list[str]:
    """Every file below `start_dir` as a path relative to it (links to files included, folders not).

    A `sigproc_results` link that does not lead into `onboard_results` (a reanalysis sharing its
    parent's signal-processing output) is followed, as the real server does.
    """
    out: list[str] = []
    if not start_dir or not os.path.isdir(start_dir):
        return out
    for root, dirs, files in os.walk(start_dir):
        rel_root = os.path.relpath(root, start_dir)
        prefix = "" if rel_root == "." else rel_root + "/"
        for name in files:
            out.append(prefix + name)
        for name in dirs:
            full = os.path.join(root, name)
            if name == "sigproc_results" and os.path.islink(full) and "onboard_results" not in os.path.realpath(full):
                for sub_root, _sub_dirs, sub_files in os.walk(full, followlinks=True):
                    sub_rel = os.path.relpath(sub_root, start_dir)
                    out.extend(f"{sub_rel}/{n}" for n in sub_files)
    valid = []
    for rel in out:
        try:
            rel.encode("utf-8")
        except UnicodeEncodeError:
            continue  # names that are not UTF-8 are skipped, as on the real server
        valid.append(rel)
    return valid


@dataclass
class Selection:
    """The files of one category: per search folder, the selected files and those kept for another category."""

    dirs: dict[str, list[str]] = field(default_factory=dict)
    keep: dict[str, set] = field(default_factory=dict)

    def items(self) -> Iterable[tuple[str, str]]:
        for start, rels in self.dirs.items():
            for rel in rels:
                yield start, rel

    def kept(self, start: str, rel: str) -> bool:
        return rel in self.keep.get(start, ())

    def size_bytes(self) -> int:
        return sum(file_size(os.path.join(start, rel)) for start, rel in self.items())

    def __len__(self) -> int:
        return sum(len(v) for v in self.dirs.values())


def file_size(path: str) -> int:
    """lstat size of a regular file; links count as nothing (their target is counted where it lives)."""
    try:
        st = os.lstat(path)
    except OSError:
        return 0
    return 0 if os.path.islink(path) else st.st_size


def select(fileset: FileSet, search_dirs: Iterable[str], *, ignore_onboard: bool, for_delete: bool = False,
           keep_patterns: Iterable[str] = ()) -> Selection:
    """The category's files in each search folder (report folder, raw-data folder).

    `ignore_onboard`: drop paths containing `onboard_results` (thumbnails, or reports whose
    `sigproc_results` is not the instrument's on-board output). For deletes and for intermediate
    files, a linked `sigproc_results` is never entered, so a parent's files are not removed through a child.
    """
    include, exclude = _compiled(fileset.include), _compiled(fileset.exclude)
    keep = _compiled(tuple(keep_patterns))
    sel = Selection()
    seen: set[str] = set()
    for start in search_dirs:
        if not start or start in seen:
            continue
        seen.add(start)
        start = start.rstrip("/")
        linked_sigproc = os.path.islink(os.path.join(start, "sigproc_results"))
        files = candidates(start)
        chosen = []
        for rel in files:
            if ignore_onboard and "onboard_results" in rel:
                continue
            if linked_sigproc and (for_delete or fileset.type == INTR) and "sigproc_results" in rel:
                continue
            if include is not None and include.match(rel) and not (exclude is not None and exclude.match(rel)):
                chosen.append(rel)
        sel.dirs[start] = chosen
        if keep is not None:
            sel.keep[start] = {rel for rel in files if keep.match(rel)}
    return sel


def ignores_onboard(report_dir: str, thumbnail: bool) -> bool:
    """True unless the report's `sigproc_results` really is the instrument's on-board output."""
    if thumbnail or not report_dir:
        return True
    return "onboard_results" not in os.path.realpath(os.path.join(report_dir, "sigproc_results"))
