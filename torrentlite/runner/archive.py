"""Unpack an uploaded plugin zip safely: one root folder, no escapes, no links or devices, no zip bombs."""
import re
import shutil
import stat
import tempfile
import zipfile
import zlib
from pathlib import Path

from .inspect import PluginError, PluginInfo, is_valid_version, read_plugin_info
from .problems import ERROR, WARNING, Problem, errors, line_of

__all__ = ["ArchiveError", "extract_plugin_zip", "remove_extracted", "validate_plugin_tree", "unpack_plugin_zip",
           "archive_problems", "plugin_tree_problems", "PLUGIN_NAME_RE", "RESERVED_NAMES"]

MAX_TOTAL_BYTES = 1024 * 1024 * 1024
MAX_RATIO = 200
MAX_FILES = 20000
# Small files of repeated bytes compress far better than MAX_RATIO; the ratio only matters past this size.
RATIO_FLOOR = 1024 * 1024
CHUNK = 64 * 1024

PLUGIN_NAME_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_\-]{0,63}$")
RESERVED_NAMES = {"scratch", "implementations", "archive"}
SKIPPED_ROOTS = {"__MACOSX"}
_UNIX = 3


class ArchiveError(PluginError):
    """The upload is not an acceptable plugin archive; nothing was left on disk."""


def _entry_parts(info):
    """Validate one entry name and return its path components (no empties, no '.')."""
    name = info.filename
    if "\x00" in name:
        raise ArchiveError("entry %r has a NUL byte in its name" % name)
    if "\\" in name:
        raise ArchiveError("entry %r uses backslashes in its path" % name)
    if name.startswith("/"):
        raise ArchiveError("entry %r has an absolute path" % name)
    if re.match(r"^[A-Za-z]:", name):
        raise ArchiveError("entry %r starts with a drive letter" % name)
    parts = [part for part in name.split("/") if part not in ("", ".")]
    if ".." in parts:
        raise ArchiveError("entry %r has a '..' component" % name)
    if not parts:
        raise ArchiveError("entry %r has an empty path" % name)
    return parts


def _entry_kind(info):
    """'dir' or 'file', refusing links, devices, FIFOs, sockets and encrypted entries."""
    mode = info.external_attr >> 16
    if info.create_system == _UNIX or mode:
        kind = stat.S_IFMT(mode)
        if kind == stat.S_IFLNK:
            raise ArchiveError("entry %r is a symbolic link" % info.filename)
        if kind in (stat.S_IFCHR, stat.S_IFBLK):
            raise ArchiveError("entry %r is a device file" % info.filename)
        if kind == stat.S_IFIFO:
            raise ArchiveError("entry %r is a FIFO" % info.filename)
        if kind == stat.S_IFSOCK:
            raise ArchiveError("entry %r is a socket" % info.filename)
        if kind == stat.S_IFDIR:
            return "dir"
    if info.flag_bits & 0x1:
        raise ArchiveError("entry %r is encrypted" % info.filename)
    return "dir" if info.filename.endswith("/") else "file"


def _plan(archive, max_total_bytes, max_ratio, max_files):
    """Check every entry before writing anything; return (root name or None, [(info, parts, kind)], [Problem])."""
    infos = archive.infolist()
    if len(infos) > max_files:
        return None, [], [Problem("archive has %d entries; the limit is %d" % (len(infos), max_files))]
    declared, entries, roots, seen, problems = 0, [], set(), set(), []
    for info in infos:
        try:
            parts = _entry_parts(info)
            kind = _entry_kind(info)
        except ArchiveError as exc:
            problems.append(Problem(exc.message, info.filename))
            continue
        if parts[0] in SKIPPED_ROOTS:
            continue
        if len(parts) == 1 and kind == "file":
            continue  # the real server ignores stray top-level files
        key = "/".join(parts)
        if key in seen and kind == "file":
            problems.append(Problem("entry %r appears twice" % info.filename, info.filename))
        seen.add(key)
        roots.add(parts[0])
        declared += info.file_size
        if declared > max_total_bytes and declared - info.file_size <= max_total_bytes:
            problems.append(Problem("archive unpacks to more than %d bytes" % max_total_bytes))
        if info.file_size > RATIO_FLOOR and info.file_size > max(info.compress_size, 1) * max_ratio:
            problems.append(Problem("entry %r compresses more than %d:1 (zip bomb?)" % (info.filename, max_ratio),
                                    info.filename))
        entries.append((info, parts, kind))
    root = None
    if not roots:
        problems.append(Problem("archive has no root folder (the plugin must be inside a folder named after it)"))
    elif len(roots) > 1:
        problems.append(Problem("archive has %d root folders (%s); a plugin archive has exactly one"
                                % (len(roots), ", ".join(sorted(roots)))))
    else:
        root = roots.pop()
        if not PLUGIN_NAME_RE.match(root):
            problems.append(Problem("root folder %r is not a valid plugin name (letters, digits, '_' and '-', "
                                    "starting with a letter or '_')" % root, root))
        elif root.lower() in RESERVED_NAMES:
            problems.append(Problem("root folder %r is a reserved name" % root, root))
    return root, entries, problems


def _open_zip(zip_path: Path):
    try:
        return zip_path.stat().st_size, zipfile.ZipFile(zip_path)
    except FileNotFoundError:
        raise ArchiveError("%s does not exist" % zip_path.name)
    except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, ValueError, EOFError) as exc:
        raise ArchiveError("%s is not a readable zip archive: %s" % (zip_path.name, exc))


def archive_problems(zip_path: Path, *, max_total_bytes: int = MAX_TOTAL_BYTES, max_ratio: float = MAX_RATIO,
                     max_files: int = MAX_FILES) -> list:
    """Everything extract_plugin_zip() would refuse in this archive, without extracting it."""
    try:
        _size, archive = _open_zip(Path(zip_path))
    except ArchiveError as exc:
        return [Problem(exc.message, Path(zip_path).name)]
    with archive:
        return _plan(archive, max_total_bytes, max_ratio, max_files)[2]


def _copy(archive, info, target, budget, limits):
    """Stream one entry to `target`, enforcing the byte budget and ratio on bytes actually written."""
    max_total_bytes, max_ratio, archive_size = limits
    written = 0
    with archive.open(info) as source, open(target, "xb") as sink:
        while True:
            chunk = source.read(CHUNK)
            if not chunk:
                break
            written += len(chunk)
            budget["written"] += len(chunk)
            if budget["written"] > max_total_bytes:
                raise ArchiveError("archive unpacks to more than %d bytes" % max_total_bytes)
            if written > RATIO_FLOOR and written > max(info.compress_size, 1) * max_ratio:
                raise ArchiveError("entry %r expands more than %d:1 (zip bomb?)" % (info.filename, max_ratio))
            if budget["written"] > RATIO_FLOOR and budget["written"] > archive_size * max_ratio:
                raise ArchiveError("archive expands more than %d:1 (zip bomb?)" % max_ratio)
            sink.write(chunk)
    mode = info.external_attr >> 16
    target.chmod(0o755 if mode & 0o111 else 0o644)


def extract_plugin_zip(zip_path: Path, dest_parent: Path, *, max_total_bytes: int = MAX_TOTAL_BYTES,
                       max_ratio: float = MAX_RATIO, max_files: int = MAX_FILES) -> Path:
    """Extract a plugin zip into a new temporary folder under `dest_parent`; return its single root folder.

    The returned folder's parent is the temporary folder: move the plugin out, then call
    `remove_extracted(root)`. On any problem raise ArchiveError and leave `dest_parent` untouched.
    """
    zip_path, dest_parent = Path(zip_path), Path(dest_parent)
    archive_size, archive = _open_zip(zip_path)
    temp = None
    try:
        with archive:
            root, entries, problems = _plan(archive, max_total_bytes, max_ratio, max_files)
            if problems:
                raise ArchiveError(problems[0].message)
            temp = Path(tempfile.mkdtemp(prefix=".plugin-upload-", dir=dest_parent))
            base = temp.resolve()
            budget = {"written": 0}
            (temp / root).mkdir()
            for info, parts, kind in entries:
                target = temp.joinpath(*parts)
                if base not in target.resolve().parents:
                    raise ArchiveError("entry %r would be written outside the plugin folder" % info.filename)
                if kind == "dir":
                    target.mkdir(parents=True, exist_ok=True)
                    continue
                target.parent.mkdir(parents=True, exist_ok=True)
                _copy(archive, info, target, budget, (max_total_bytes, max_ratio, max(archive_size, 1)))
        return temp / root
    except BaseException as exc:
        if temp is not None:
            shutil.rmtree(temp, ignore_errors=True)
        if isinstance(exc, ArchiveError) or not isinstance(exc, Exception):
            raise
        if isinstance(exc, (zipfile.BadZipFile, zlib.error, EOFError, NotImplementedError, RuntimeError)):
            raise ArchiveError("%s is corrupt: %s" % (zip_path.name, exc)) from exc
        if isinstance(exc, OSError):
            raise ArchiveError("could not unpack %s: %s" % (zip_path.name, exc)) from exc
        raise


def remove_extracted(root: Path) -> None:
    """Remove the temporary folder extract_plugin_zip() created around `root` (whatever is left in it)."""
    temp = Path(root).parent
    if temp.name.startswith(".plugin-upload-"):
        shutil.rmtree(temp, ignore_errors=True)


def plugin_tree_problems(root: Path, timeout: float = 10):
    """The installer's checks of folder `root`: (its info or None, [Problem]); errors are what install refuses.

    Errors: a name that is not a plugin name, no `<Name>.py` defining class `<Name>` nor a `launch.sh`, a
    missing or invalid version. Warnings: what the info reader could not read (it would fail at run time).
    """
    root = Path(root)
    name = root.name
    script = name + ".py"
    if not PLUGIN_NAME_RE.match(name):
        return None, [Problem("%r is not a valid plugin name" % name, name)]
    if (root / script).is_file() and not name.isidentifier():
        return None, [Problem("%r cannot name a Python plugin class" % name, script)]
    try:
        info = read_plugin_info(root, name, timeout=timeout)
    except PluginError as exc:
        where = script if (root / script).is_file() else ""
        line = line_of(root / script, r"^\s*version\s*=") if "version" in exc.message and where else None
        return None, [Problem(exc.message, where, line)]
    problems = []
    source = root / info.script
    for message in info.errors:
        match = re.search(r"\(line (\d+)", message)
        problems.append(Problem(message, info.script, int(match.group(1)) if match else None, WARNING))
    if not is_valid_version(info.version):
        pattern = r"^\s*version\s*=" if info.language != "bash" else r"VERSION\s*="
        problems.insert(0, Problem("%s has an invalid version %r (expected dotted numbers such as 1.0.0)"
                                   % (name, info.version), info.script, line_of(source, pattern), ERROR))
    return info, problems


def validate_plugin_tree(root: Path, timeout: float = 10) -> PluginInfo:
    """Check that folder `root` is an installable plugin named after the folder; return its info.

    Raises PluginError with the first error plugin_tree_problems() finds.
    """
    info, problems = plugin_tree_problems(root, timeout)
    refused = errors(problems)
    if refused:
        raise PluginError(refused[0].message)
    return info


def unpack_plugin_zip(zip_path: Path, dest_parent: Path, *, timeout: float = 10, **limits):
    """extract_plugin_zip() then validate_plugin_tree(); return (root, info), or raise and leave nothing behind."""
    root = extract_plugin_zip(zip_path, dest_parent, **limits)
    try:
        return root, validate_plugin_tree(root, timeout=timeout)
    except BaseException:
        remove_extracted(root)
        raise
