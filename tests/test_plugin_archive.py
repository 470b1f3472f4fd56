"""Plugin zip handling: hostile archives are refused with a clear message and leave nothing behind."""
import os
import stat
import zipfile
from pathlib import Path

import pytest

from torrentlite.runner.archive import (
    ArchiveError, extract_plugin_zip, remove_extracted, unpack_plugin_zip, validate_plugin_tree,
)
from torrentlite.runner.inspect import PluginError

GOOD_PY = '''from ion.plugin import *


class {name}(IonPlugin):
    """A plugin from a zip."""
    version = "{version}"
    runtypes = [RunType.FULLCHIP]

    def launch(self, data=None):
        return True


if __name__ == "__main__":
    PluginCLI()
'''


def entry(name, data=b"", mode=None, compress=zipfile.ZIP_DEFLATED):
    info = zipfile.ZipInfo(name)
    info.compress_type = compress
    if mode is not None:
        info.create_system = 3
        info.external_attr = mode << 16
    return info, data


def plugin_entries(name="Good", version="1.2.3"):
    return [
        entry(name + "/", mode=stat.S_IFDIR | 0o755),
        entry("%s/%s.py" % (name, name), GOOD_PY.format(name=name, version=version).encode()),
        entry(name + "/config.html", b"<html></html>"),
        entry(name + "/bin/run.sh", b"#!/bin/sh\necho hi\n", mode=stat.S_IFREG | 0o755),
    ]


def build(path, entries):
    with zipfile.ZipFile(path, "w") as archive:
        for info, data in entries:
            archive.writestr(info, data)
    return path


def snapshot(folder):
    return sorted((str(p.relative_to(folder)), p.is_dir()) for p in folder.rglob("*"))


@pytest.fixture
def dest(tmp_path):
    folder = tmp_path / "plugins"
    folder.mkdir()
    (folder / "Existing").mkdir()
    (folder / "Existing" / "Existing.py").write_text("# already installed\n")
    return folder


def test_good_archive_extracts_one_root(tmp_path, dest):
    entries = plugin_entries() + [
        entry("__MACOSX/Good/._Good.py", b"junk"),
        entry("README.txt", b"stray top-level file"),
    ]
    root, info = unpack_plugin_zip(build(tmp_path / "Good.zip", entries), dest)
    assert root.name == "Good" and root.parent.parent == dest
    assert sorted(p.name for p in root.rglob("*")) == ["Good.py", "bin", "config.html", "run.sh"]
    assert os.access(root / "bin" / "run.sh", os.X_OK)
    assert not os.access(root / "config.html", os.X_OK)
    assert (info.name, info.version, info.runtypes, info.has_config_html) == ("Good", "1.2.3", ["wholechip"], True)
    assert not (root.parent / "README.txt").exists() and not (root.parent / "__MACOSX").exists()
    remove_extracted(root)
    assert snapshot(dest) == [("Existing", True), ("Existing/Existing.py", False)]


def test_launch_sh_archive(tmp_path, dest):
    entries = [entry("Shell/launch.sh", b'#!/bin/bash\nVERSION="0.5.0"\necho hi\n', mode=stat.S_IFREG | 0o755)]
    root, info = unpack_plugin_zip(build(tmp_path / "Shell.zip", entries), dest)
    assert (info.script, info.version, info.language) == ("launch.sh", "0.5.0", "bash")
    remove_extracted(root)


def _bomb_entries():
    zeros = b"\0" * (8 * 1024 * 1024)
    return plugin_entries() + [entry("Good/data.bin", zeros)]


def _many_small_bombs():
    # Each entry stays under the per-entry ratio floor; together they expand far beyond the archive's size.
    chunk = b"\0" * (900 * 1024)
    return plugin_entries() + [entry("Good/part%02d.bin" % i, chunk) for i in range(12)]


HOSTILE = [
    ("dotdot", [entry("Good/../../evil.py", b"x")], "'..'"),
    ("dotdot_root", [entry("../evil.py", b"x")], "'..'"),
    ("absolute", [entry("/etc/evil.py", b"x")], "absolute path"),
    ("backslash", [entry("Good\\..\\evil.py", b"x")], "backslash"),
    ("drive_letter", [entry("C:/Good/evil.py", b"x")], "drive letter"),
    ("symlink", plugin_entries() + [entry("Good/link", b"/etc/passwd", mode=stat.S_IFLNK | 0o777)], "symbolic link"),
    ("fifo", plugin_entries() + [entry("Good/pipe", b"", mode=stat.S_IFIFO | 0o644)], "FIFO"),
    ("char_device", plugin_entries() + [entry("Good/null", b"", mode=stat.S_IFCHR | 0o666)], "device"),
    ("block_device", plugin_entries() + [entry("Good/sda", b"", mode=stat.S_IFBLK | 0o660)], "device"),
    ("two_roots", plugin_entries() + plugin_entries("Other"), "2 root folders"),
    ("files_only", [entry("Good.py", GOOD_PY.format(name="Good", version="1.0").encode())], "no root folder"),
    ("empty", [], "no root folder"),
    ("bad_root_name", [entry("bad name!/x.py", b"x")], "not a valid plugin name"),
    ("reserved_root", [entry("scratch/launch.sh", b"VERSION=1")], "reserved"),
    ("duplicate", plugin_entries() + [entry("Good/config.html", b"again")], "appears twice"),
    ("bomb_ratio", _bomb_entries(), "zip bomb"),
    ("bomb_streamed", _many_small_bombs(), "zip bomb"),
]


@pytest.mark.filterwarnings("ignore:Duplicate name")
@pytest.mark.parametrize("label,entries,message", HOSTILE, ids=[h[0] for h in HOSTILE])
def test_hostile_archive_refused(tmp_path, dest, label, entries, message):
    before = snapshot(dest)
    with pytest.raises(ArchiveError) as raised:
        extract_plugin_zip(build(tmp_path / (label + ".zip"), entries), dest)
    assert message in str(raised.value)
    assert snapshot(dest) == before


def test_too_big(tmp_path, dest):
    entries = plugin_entries() + [entry("Good/blob.bin", os.urandom(50_000), compress=zipfile.ZIP_STORED)]
    with pytest.raises(ArchiveError, match="more than 10000 bytes"):
        extract_plugin_zip(build(tmp_path / "big.zip", entries), dest, max_total_bytes=10_000)
    assert snapshot(dest) == [("Existing", True), ("Existing/Existing.py", False)]


def test_too_many_files(tmp_path, dest):
    entries = plugin_entries() + [entry("Good/f%d.txt" % i, b"x") for i in range(10)]
    with pytest.raises(ArchiveError, match="entries; the limit is 8"):
        extract_plugin_zip(build(tmp_path / "many.zip", entries), dest, max_files=8)


@pytest.mark.parametrize("content,message", [
    (b"this is not a zip file at all", "not a readable zip"),
    (b"", "not a readable zip"),
])
def test_not_a_zip(tmp_path, dest, content, message):
    path = tmp_path / "plugin.zip"
    path.write_bytes(content)
    before = snapshot(dest)
    with pytest.raises(ArchiveError, match=message):
        extract_plugin_zip(path, dest)
    assert snapshot(dest) == before


def test_truncated_zip(tmp_path, dest):
    path = build(tmp_path / "cut.zip", plugin_entries())
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(ArchiveError, match="not a readable zip"):
        extract_plugin_zip(path, dest)
    assert snapshot(dest) == [("Existing", True), ("Existing/Existing.py", False)]


def test_corrupt_data_cleans_up_partial_extraction(tmp_path, dest):
    payload = os.urandom(200_000)
    entries = plugin_entries() + [entry("Good/z_payload.bin", payload, compress=zipfile.ZIP_STORED)]
    path = build(tmp_path / "corrupt.zip", entries)
    data = bytearray(path.read_bytes())
    at = data.find(payload[:64])
    data[at + 1000: at + 1010] = bytes(10)  # damages stored bytes so the CRC check fails mid-extraction
    path.write_bytes(bytes(data))
    with pytest.raises(ArchiveError, match="corrupt"):
        extract_plugin_zip(path, dest)
    assert snapshot(dest) == [("Existing", True), ("Existing/Existing.py", False)]


def test_missing_file(tmp_path, dest):
    with pytest.raises(ArchiveError, match="does not exist"):
        extract_plugin_zip(tmp_path / "nope.zip", dest)


PLUGIN_PROBLEMS = [
    ("missing_class", [entry("Good/Good.py", b"from ion.plugin import *\nclass Other(IonPlugin):\n    version='1'\n")],
     "does not define a class named Good"),
    ("no_entry_script", [entry("Good/README.md", b"# hi")], "neither Good.py nor launch.sh"),
    ("bad_version", plugin_entries(version="1.0 final"), "invalid version"),
    ("unknown_version", plugin_entries(version="(Unknown)"), "no version"),
    ("word_version", plugin_entries(version="latest"), "invalid version"),
    ("no_version", [entry("Good/Good.py", b"from ion.plugin import *\nclass Good(IonPlugin):\n    pass\n")],
     "no version"),
    ("hyphen_python_name", [entry("my-plugin/my-plugin.py", b"x = 1\n")], "cannot name a Python plugin class"),
]


@pytest.mark.parametrize("label,entries,message", PLUGIN_PROBLEMS, ids=[p[0] for p in PLUGIN_PROBLEMS])
def test_plugin_problems_refused_and_cleaned(tmp_path, dest, label, entries, message):
    before = snapshot(dest)
    with pytest.raises(PluginError) as raised:
        unpack_plugin_zip(build(tmp_path / (label + ".zip"), entries), dest)
    assert message in str(raised.value)
    assert snapshot(dest) == before


def test_validate_plugin_tree_on_folder(tmp_path):
    folder = tmp_path / "Direct"
    folder.mkdir()
    (folder / "Direct.py").write_text(GOOD_PY.format(name="Direct", version="2.0.0-beta"))
    info = validate_plugin_tree(folder)
    assert (info.name, info.version, info.script, info.language) == ("Direct", "2.0.0-beta", "Direct.py", "python3")
    assert isinstance(ArchiveError("x"), PluginError)
    assert Path(folder).exists()
