"""Small formatting helpers shared by the page templates (URIs to keys, dates, sizes, durations)."""
from __future__ import annotations

from datetime import datetime, timezone
from typing import Optional


def pk_of(uri) -> Optional[int]:
    """The trailing integer key of a resource URI ("/rundb/api/v1/experiment/10/" -> 10)."""
    if isinstance(uri, int):
        return uri
    if not isinstance(uri, str):
        return None
    tail = uri.rstrip("/").rsplit("/", 1)[-1]
    return int(tail) if tail.isdigit() else None


def parse_time(text) -> Optional[datetime]:
    if isinstance(text, datetime):
        return text
    if not text or not isinstance(text, str):
        return None
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    # Stored times without an offset are UTC.
    return moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)


def when(text) -> str:
    """A timestamp as 'YYYY-MM-DD HH:MM' (UTC as stored), or '' when there is none."""
    moment = parse_time(text)
    return moment.strftime("%Y-%m-%d %H:%M") if moment else ""


def elapsed(start, end) -> str:
    begun, ended = parse_time(start), parse_time(end)
    if not begun or not ended:
        return ""
    return duration((ended - begun).total_seconds())


def duration(seconds) -> str:
    if seconds is None:
        return ""
    seconds = int(max(0, float(seconds)))
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}h {minutes:02d}m {secs:02d}s" if hours else f"{minutes}m {secs:02d}s"


def size(count) -> str:
    """Bytes in binary units ('' for unknown, negative or missing)."""
    try:
        value = float(count)
    except (TypeError, ValueError):
        return ""
    if value < 0:
        return ""
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if value < 1024 or unit == "TiB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return ""


def number(value) -> str:
    """An integer with thousands separators; other values as they are."""
    try:
        return f"{int(value):,}"
    except (TypeError, ValueError):
        return "" if value is None else str(value)


def bases(value) -> str:
    """A base count in Mbp/Gbp as the report shows it."""
    try:
        count = float(value)
    except (TypeError, ValueError):
        return ""
    if count >= 1e9:
        return f"{count / 1e9:.2f} Gbp"
    if count >= 1e6:
        return f"{count / 1e6:.1f} Mbp"
    return f"{count:,.0f} bp"


def usage(doc) -> dict:
    """A job's recorded resource use (wall, CPU, peak memory) as display strings ('' when unknown)."""
    doc = doc if isinstance(doc, dict) else {}
    wall, cpu, peak = doc.get("wall_seconds"), doc.get("cpu_seconds"), doc.get("peak_rss_bytes")
    return {"wall": duration(wall) if wall is not None else "", "cpu": f"{cpu:.1f} s" if cpu is not None else "",
            "memory": size(peak) if peak else ""}
