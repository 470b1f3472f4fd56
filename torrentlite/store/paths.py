"""Where a report and its plugin outputs live on disk (shared by the API and the plugin runner)."""
from __future__ import annotations

import os
from pathlib import Path


def report_dir(storage: dict | None, report_link: str) -> str:
    """The report folder on disk: the storage's dirPath plus the link below its web path."""
    if not storage or not report_link:
        return ""
    web = (storage.get("webServerPath") or "").rstrip("/")
    link = report_link.rstrip("/")
    tail = link[len(web):] if web and link.startswith(web) else link
    base = (storage.get("dirPath") or "/").rstrip("/")
    return base + "/" + tail.lstrip("/")


def plugin_folder_name(plugin_name: str, pr_id: int) -> str:
    """``<Name>_out.<pk>``: the folder of one plugin result."""
    return f"{plugin_name}_out.{pr_id}"


def plugin_output_dir(report: str, plugin_name: str, pr_id: int) -> str:
    """``<report>/plugin_out/<Name>_out.<pk>`` (the legacy ``<Name>_out`` is never created)."""
    return os.path.join(report, "plugin_out", plugin_folder_name(plugin_name, pr_id)) if report else ""


def is_inside(path: str | Path, root: str | Path) -> bool:
    """True when ``path`` resolves to a strict descendant of ``root`` (symlinks followed)."""
    try:
        resolved, base = Path(path).resolve(), Path(root).resolve()
    except OSError:
        return False
    return resolved != base and base in resolved.parents
