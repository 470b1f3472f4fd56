"""For plugin authors: check a plugin folder or zip for everything the installer or a run would trip over, and pack it."""
from __future__ import annotations

import functools
import json
import os
import re
import shutil
import stat
import subprocess
import tempfile
import zipfile
from pathlib import Path
from typing import Mapping, Optional

from .archive import (
    MAX_FILES, MAX_TOTAL_BYTES, ArchiveError, archive_problems, extract_plugin_zip, plugin_tree_problems,
    remove_extracted,
)
from .inspect import ENUMS, PluginInfo
from .legacy_env import LegacyEnvError, find_python2
from .manager import upgrade_refusal
from .problems import ERROR, WARNING, Problem, errors, line_of

__all__ = ["check_plugin", "pack_plugin", "is_junk", "python2_interpreter", "KNOWN_VALUES"]

# The values each list attribute may hold (as the scheduler compares them, lower-case).
KNOWN_VALUES = {"runtypes": set(ENUMS["RunType"].values()), "runlevels": set(ENUMS["RunLevel"].values()),
                "features": set(ENUMS["Feature"].values())}
JUNK_DIRS = {"__pycache__", ".git", ".hg", ".svn", ".idea", ".vscode", ".mypy_cache", ".pytest_cache", "__MACOSX"}
JUNK_FILES = re.compile(r"(\.py[co]|~|\.swp|\.swo|\.orig|\.rej|\.bak)$|^(\.DS_Store|Thumbs\.db|\.#.*|#.*#)$")
PAGES = ("config.html", "plan.html", "instance.html", "about.html")
# src="pluginMedia/x.js", href='/pluginMedia/<Name>/x.css', url(pluginMedia/img.png)
_MEDIA_REF = re.compile(r"""(?:src|href)\s*=\s*["']([^"'#?]*pluginMedia/[^"'#?]+)|url\(\s*["']?([^"')#?]*pluginMedia/"""
                        r"""[^"')#?]+)""")


def is_junk(name: str, is_dir: bool) -> bool:
    """Files and folders that never belong in a plugin archive (caches, version control, editor backups)."""
    return name in JUNK_DIRS if is_dir else bool(JUNK_FILES.search(name))


@functools.lru_cache(maxsize=1)
def python2_interpreter() -> Optional[str]:
    """A working Python 2.7 interpreter on this machine (found as `plugin-env build` finds one), or None."""
    try:
        return find_python2()
    except LegacyEnvError:
        return None


# ---------------------------------------------------------------------------------------------------------
# check


def check_plugin(path: Path, *, installed: Optional[Mapping[str, str]] = None,
                 timeout: float = 10) -> tuple[Optional[PluginInfo], list]:
    """All problems of a plugin folder or zip: the installer's checks, then what a run would trip over.

    `installed` maps the plugins installed on this box to their versions (for the upgrade order and
    `depends`); None skips those checks. Returns (info or None, [Problem]).
    """
    path = Path(path)
    if path.is_file():
        problems = archive_problems(path, max_total_bytes=MAX_TOTAL_BYTES, max_files=MAX_FILES)
        if errors(problems):
            return None, problems
        temp = Path(tempfile.mkdtemp(prefix=".plugin-check-"))
        try:
            root = extract_plugin_zip(path, temp)
            info, more = _check_tree(root, installed, timeout)
            return info, problems + more
        except ArchiveError as exc:
            return None, problems + [Problem(exc.message, path.name)]
        finally:
            shutil.rmtree(temp, ignore_errors=True)
    if not path.is_dir():
        return None, [Problem("%s does not exist" % path)]
    problems = _folder_archive_problems(path)
    info, more = _check_tree(path, installed, timeout)
    return info, problems + more


def _check_tree(root: Path, installed: Optional[Mapping[str, str]], timeout):
    info, problems = plugin_tree_problems(root, timeout)
    if info is None:
        return None, problems
    script = root / info.script
    if installed and info.name in installed:
        refusal = upgrade_refusal(info.name, info.version, installed[info.name])
        if refusal:
            problems.append(Problem(refusal, info.script, _attr_line(script, info, "version"), ERROR))
    problems += _value_problems(root, info, installed)
    problems += _language_problems(root, info)
    problems += _media_problems(root, info)
    problems += _head_problems(root)
    return info, problems


def _attr_line(script: Path, info: PluginInfo, attr: str) -> Optional[int]:
    if info.language == "bash":
        return line_of(script, r"^\s*VERSION\s*=") if attr == "version" else None
    return line_of(script, r"^\s*%s\s*=" % attr)


def _value_problems(root: Path, info: PluginInfo, installed: Optional[Mapping[str, str]]) -> list:
    """Unknown runtypes/runlevels/features (named), and depends that cannot be met."""
    problems = []
    source = info.script if info.language != "bash" else "pluginsettings.json"
    for attr, known in KNOWN_VALUES.items():
        for value in getattr(info, attr):
            if str(value).lower() not in known:
                line = _attr_line(root / info.script, info, attr) if info.language != "bash" else \
                    line_of(root / source, r'"%s' % attr[:-1])
                problems.append(Problem("unknown %s value %r (known: %s)" % (attr[:-1], value,
                                                                             ", ".join(sorted(known))),
                                        source, line, ERROR))
    line = _attr_line(root / info.script, info, "depends") if info.language != "bash" else None
    for dep in info.depends:
        if dep == info.name:
            problems.append(Problem("depends on itself", source, line, ERROR))
        elif installed is not None and dep not in installed:
            problems.append(Problem("depends on %r, which is not installed here (a dependency is never launched "
                                    "for you; it only orders plugins launched together)" % dep,
                                    source, line, WARNING))
    return problems


def _language_problems(root: Path, info: PluginInfo) -> list:
    """Python 2 vs 3 (and whether this box runs it); launch.sh shebang and mode."""
    problems = []
    if info.language == "python2":
        problems.append(Problem("Python 2 plugin: this torrentlite runs Python 3 plugins, so it installs but fails "
                                "at run time (see the guide on moving a plugin to Python 3)", info.script, None,
                                WARNING))
        problems += _python2_compile(root, info)
    elif info.language == "python3" and _declares_python2(root / info.script):
        problems += _python2_compile(root, info)
    elif info.language == "bash":
        script = root / "launch.sh"
        first = script.read_bytes().split(b"\n", 1)[0]
        if not first.startswith(b"#!"):
            problems.append(Problem("launch.sh has no #! line (write #!/bin/bash: it is run by bash)", "launch.sh",
                                    1, WARNING))
        elif not re.match(rb"#!\s*(/usr)?/bin/(env\s+)?(ba)?sh\b", first):
            problems.append(Problem("launch.sh starts with %r; it is run by bash whatever the #! line says"
                                    % first.decode("utf-8", "replace"), "launch.sh", 1, WARNING))
        if not script.stat().st_mode & stat.S_IXUSR:
            problems.append(Problem("launch.sh is not executable (chmod +x launch.sh)", "launch.sh", None, WARNING))
    return problems


def _declares_python2(script: Path) -> bool:
    """The #! line names Python 2 (`python2`, `python2.7`, or plain `/usr/bin/python` as Torrent Suite 5 has)."""
    try:
        first = script.read_text(encoding="utf-8", errors="replace").split("\n", 1)[0]
    except OSError:
        return False
    return bool(re.match(r"#!.*\bpython(2(\.7)?)?\s*$", first.strip()))


# Runs under Python 2.7: prints "<line>\t<message>" for a syntax error.
_PY2_COMPILE = """
import sys
try:
    compile(open(sys.argv[1]).read(), sys.argv[1], 'exec')
except SyntaxError as exc:
    print('%s\t%s' % (exc.lineno, exc.msg))
    sys.exit(1)
"""


def _python2_compile(root: Path, info: PluginInfo) -> list:
    """Compile a plugin that says it is Python 2 with a Python 2.7 interpreter, when this machine has one."""
    interpreter = python2_interpreter()
    if interpreter is None:
        return [Problem("there is no Python 2.7 here to check this Python 2 code with", info.script, None, WARNING)]
    problems = []
    for path in sorted(root.rglob("*.py")):
        rel = path.relative_to(root).as_posix()
        if any(is_junk(part, True) for part in path.relative_to(root).parts[:-1]):
            continue
        proc = subprocess.run([interpreter, "-c", _PY2_COMPILE, str(path)], capture_output=True, text=True,
                              timeout=30)
        if proc.returncode != 0:
            line, _, message = proc.stdout.strip().partition("\t")
            problems.append(Problem("not valid Python 2.7: %s" % (message or proc.stderr.strip()[-200:]), rel,
                                    int(line) if line.isdigit() else None, ERROR))
    return problems


def _media_problems(root: Path, info: PluginInfo) -> list:
    """Pages that link files under pluginMedia/ that the plugin does not ship."""
    problems = []
    pages = [root / page for page in PAGES] + sorted(root.glob("*_block.html"))
    media = root / "pluginMedia"
    for page in pages:
        if not page.is_file():
            continue
        text = page.read_text(encoding="utf-8", errors="replace")
        for number, line in enumerate(text.splitlines(), 1):
            for match in _MEDIA_REF.finditer(line):
                ref = match.group(1) or match.group(2)
                before, _, rest = ref.partition("pluginMedia/")
                if not before.startswith("/") and "://" not in before:  # pluginMedia/file, ./pluginMedia/file
                    relative = rest
                else:  # /pluginMedia/<Name>/file
                    owner, _, relative = rest.partition("/")
                    if owner != info.name:
                        continue
                if "{{" in relative or "+" in relative:
                    continue
                target = media / relative
                if not target.is_file():
                    problems.append(Problem("links pluginMedia/%s, which the plugin does not have" % relative,
                                            page.name, number, ERROR))
    return problems


def _head_problems(root: Path) -> list:
    """Configuration pages whose first closing head tag is inside a comment: the TB_* script would be too."""
    problems = []
    for page in PAGES:
        path = root / page
        if not path.is_file():
            continue
        text = path.read_text(encoding="utf-8", errors="replace")
        match = re.search(r"</head\s*>", text, re.IGNORECASE)
        if match is None:
            continue
        opened = text.rfind("<!--", 0, match.start())
        if opened >= 0 and text.find("-->", opened, match.start()) < 0:
            problems.append(Problem("the first closing head tag is inside a comment; the server puts the TB_* "
                                    "globals before it, so the page will not see them", page,
                                    text.count("\n", 0, match.start()) + 1, ERROR))
    return problems


def _folder_archive_problems(root: Path) -> list:
    """What the zip of this folder would be refused for: links, devices, size, file count."""
    problems, total, count = [], 0, 0
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = [d for d in dirnames if not is_junk(d, True)]
        for name in dirnames + filenames:
            full = Path(dirpath, name)
            rel = full.relative_to(root).as_posix()
            mode = full.lstat().st_mode
            if stat.S_ISLNK(mode):
                problems.append(Problem("is a symbolic link; the installer refuses links (copy the file in)", rel))
            elif not (stat.S_ISDIR(mode) or stat.S_ISREG(mode)):
                problems.append(Problem("is not a regular file or folder", rel))
            elif stat.S_ISREG(mode) and not is_junk(name, False):
                count += 1
                total += full.lstat().st_size
    if total > MAX_TOTAL_BYTES:
        problems.append(Problem("the plugin holds %d bytes; the installer accepts at most %d" % (total,
                                                                                               MAX_TOTAL_BYTES)))
    if count > MAX_FILES:
        problems.append(Problem("the plugin has %d files; the installer accepts at most %d" % (count, MAX_FILES)))
    return problems


# ---------------------------------------------------------------------------------------------------------
# pack


def pack_plugin(folder: Path, dest: Optional[Path] = None, *, installed: Optional[Mapping[str, str]] = None,
                timeout: float = 10) -> tuple[Path, list]:
    """Zip `folder` as the installer wants it (one root folder named after the plugin, no junk, modes kept).

    Refuses (raises ArchiveError listing them) when check_plugin() finds errors. Returns (zip path, warnings).
    """
    folder = Path(folder).resolve()
    info, problems = check_plugin(folder, installed=installed, timeout=timeout)
    refused = errors(problems)
    if refused or info is None:
        raise ArchiveError("not packed: " + "; ".join(str(p) for p in refused))
    dest = Path(dest) if dest else Path.cwd() / ("%s-%s.zip" % (info.name, info.version))
    temp = dest.with_name("." + dest.name + ".part")
    try:
        with zipfile.ZipFile(temp, "w", zipfile.ZIP_DEFLATED) as archive:
            for dirpath, dirnames, filenames in os.walk(folder):
                dirnames[:] = sorted(d for d in dirnames if not is_junk(d, True))
                base = Path(dirpath)
                rel_dir = Path(folder.name, base.relative_to(folder))
                _add(archive, base, rel_dir.as_posix() + "/")
                for name in sorted(filenames):
                    full = base / name
                    if is_junk(name, False) or full.resolve() == dest.resolve():
                        continue
                    _add(archive, full, (rel_dir / name).as_posix())
        os.replace(temp, dest)
    finally:
        if temp.exists():
            temp.unlink()
    return dest, problems


def _add(archive: zipfile.ZipFile, path: Path, arcname: str) -> None:
    entry = zipfile.ZipInfo.from_file(path, arcname)
    entry.create_system = 3  # Unix, so the installer reads the modes
    if path.is_dir():
        archive.writestr(entry, b"")
    else:
        entry.compress_type = zipfile.ZIP_DEFLATED
        with open(path, "rb") as handle:
            archive.writestr(entry, handle.read())


def installed_versions(store) -> dict:
    """{name: version} of the plugins installed in a data directory."""
    return dict(store.db.execute_sql('SELECT name, version FROM "plugin" WHERE active = 1').fetchall())


def problems_json(problems) -> str:
    return json.dumps([p.as_dict() for p in problems], indent=2)

