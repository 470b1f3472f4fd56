"""What identifies a data directory: its system id (a UUID, as a Torrent Server's) and its secret key."""
from __future__ import annotations

import base64
import os
import uuid
from pathlib import Path

SYSTEM_ID_FILE = "system_id"
SECRET_FILE = "secret.key"


def _read_or_create(path: Path, make) -> str:
    """The text of ``path``; on first use it is written once (O_EXCL), mode 0600, so racing callers agree."""
    try:
        text = path.read_text(encoding="ascii").strip()
        if text:
            return text
    except FileNotFoundError:
        pass
    path.parent.mkdir(parents=True, exist_ok=True)
    value = make()
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return path.read_text(encoding="ascii").strip()
    with os.fdopen(fd, "w", encoding="ascii") as handle:
        handle.write(value + "\n")
    return value


def system_id(data_path: Path) -> str:
    """This server's system id (a random UUID made on first use, kept in the data directory)."""
    return _read_or_create(Path(data_path) / SYSTEM_ID_FILE, lambda: str(uuid.uuid4()))


def secret_key(data_path: Path) -> bytes:
    """The data directory's 32-byte secret, URL-safe base64 (a Fernet key); made on first use, mode 0600."""
    return _read_or_create(Path(data_path) / SECRET_FILE,
                           lambda: base64.urlsafe_b64encode(os.urandom(32)).decode("ascii")).encode("ascii")


__all__ = ["system_id", "secret_key"]
