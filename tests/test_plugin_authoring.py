"""plugin new / check / pack: the scaffold checks clean, check finds each problem (file and line), pack installs."""
from __future__ import annotations

import json
import os
import stat
import zipfile
from pathlib import Path

import pytest

from torrentlite.cli import main
from torrentlite.runner import authoring
from torrentlite.runner.authoring import check_plugin, pack_plugin, python2_interpreter
from torrentlite.runner.manager import PluginManager
from torrentlite.runner.scaffold import new_plugin

VARIANTS = {"python3": {}, "python2": {"python2": True}, "launch_sh": {"launch_sh": True}}


def require_python2():
    if python2_interpreter() is None:
        if os.environ.get("CI") == "true":
            pytest.fail("CI must have Python 2.7 to check the Python 2 scaffold")
        pytest.skip("no Python 2.7 interpreter on this machine")


def problems_of(path, **kw):
    _info, problems = check_plugin(path, **kw)
    return [(p.file, p.line, p.severity, p.message) for p in problems]


def find(problems, text):
    hits = [p for p in problems if text in p[3]]
    assert hits, f"no problem mentions {text!r}: {problems}"
    return hits[0]


@pytest.mark.parametrize("variant", sorted(VARIANTS))
def test_scaffold_checks_clean(tmp_path, variant):
    if variant == "python2":
        require_python2()
    folder = new_plugin("Fresh", tmp_path, **VARIANTS[variant])
    assert problems_of(folder) == []
    info, _ = check_plugin(folder)
    assert info.version == "0.1.0" and info.runlevels == ["default"]
    assert info.has_config_html and info.has_instance_html and info.has_extend and info.has_plugin_media
    assert main(["plugin", "check", str(folder), "--strict"]) == 0


def test_scaffold_refuses_bad_names_and_existing_folders(tmp_path, capsys):
    assert main(["plugin", "new", "not-a-class", "--dir", str(tmp_path)]) == 2
    assert main(["plugin", "new", "archive", "--dir", str(tmp_path)]) == 2
    assert main(["plugin", "new", "Twice", "--dir", str(tmp_path)]) == 0
    assert main(["plugin", "new", "Twice", "--dir", str(tmp_path)]) == 2
    assert "already exists" in capsys.readouterr().err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["Twice"]


def test_python2_scaffold_is_checked_with_python_2(tmp_path):
    require_python2()
    folder = new_plugin("Legacy", tmp_path, python2=True)
    with open(folder / "Legacy.py", "a") as handle:
        handle.write("\nvalue = f'{1}'\n")  # Python 3 only
    file, line, severity, message = find(problems_of(folder), "not valid Python 2.7")
    assert (file, severity) == ("Legacy.py", "error") and line is not None


def write(folder: Path, name: str, text: str) -> Path:
    path = folder / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def test_check_finds_class_and_version_problems(tmp_path):
    folder = new_plugin("Named", tmp_path)
    source = (folder / "Named.py").read_text()
    (folder / "Named.py").write_text(source.replace("class Named(", "class Other("))
    assert find(problems_of(folder), "does not define a class named Named")[0] == "Named.py"
    (folder / "Named.py").write_text(source.replace('version = "0.1.0"', 'version = "v1.x"'))
    file, line, severity, _ = find(problems_of(folder), "invalid version 'v1.x'")
    assert (file, severity) == ("Named.py", "error")
    assert (folder / "Named.py").read_text().splitlines()[line - 1].strip().startswith("version =")


def test_check_orders_versions_against_the_installed_one(tmp_path):
    folder = new_plugin("Upgraded", tmp_path)
    assert problems_of(folder, installed={"Upgraded": "0.0.9"}) == []
    file, line, severity, message = find(problems_of(folder, installed={"Upgraded": "0.1.0.1"}), "older than")
    assert (file, severity) == ("Upgraded.py", "error") and line
    assert "same version" in find(problems_of(folder, installed={"Upgraded": "0.1.0"}), "installed version")[3]


def test_check_names_unknown_values_and_depends(tmp_path):
    folder = new_plugin("Valued", tmp_path)
    source = (folder / "Valued.py").read_text()
    source = source.replace("runlevels = [RunLevel.DEFAULT]", 'runlevels = [RunLevel.DEFAULT, "sometimes"]')
    source = source.replace("runtypes = [RunType.FULLCHIP,", 'runtypes = ["wholechip", "halfchip",')
    source = source.replace("features = []", 'features = ["teleport"]')
    source = source.replace("depends = []", 'depends = ["Valued", "NotHere"]')
    (folder / "Valued.py").write_text(source)
    problems = problems_of(folder, installed={"Other": "1.0"})
    for text in ("unknown runlevel value 'sometimes'", "unknown runtype value 'halfchip'",
                 "unknown feature value 'teleport'", "depends on itself"):
        assert find(problems, text)[2] == "error"
        assert find(problems, text)[1] is not None
    assert find(problems, "depends on 'NotHere', which is not installed")[2] == "warning"
    assert main(["plugin", "check", str(folder), "--data-dir", str(tmp_path / "nodata")]) == 1


def test_check_reports_python2_plugins(tmp_path):
    folder = tmp_path / "Old"
    write(folder, "Old.py", "from ion.plugin import *\n\nclass Old(IonPlugin):\n    version = '1.0'\n\n"
                            "    def launch(self, data=None):\n        print 'hello'\n")
    file, line, severity, message = find(problems_of(folder), "Python 2 plugin")
    assert (file, severity) == ("Old.py", "warning")
    assert find(problems_of(folder), "is not Python 3")[1] == 7
    assert main(["plugin", "check", str(folder)]) == 0
    assert main(["plugin", "check", str(folder), "--strict"]) == 1
    if python2_interpreter() is not None:  # Python 2 code is compiled with Python 2.7
        (folder / "Old.py").write_text((folder / "Old.py").read_text() + "        print 'unclosed\n")
        assert find(problems_of(folder), "not valid Python 2.7")[:3] == ("Old.py", 8, "error")


def test_check_launch_sh_shebang_and_mode(tmp_path):
    folder = new_plugin("Shell", tmp_path, launch_sh=True)
    script = folder / "launch.sh"
    script.write_text(script.read_text().split("\n", 1)[1])
    script.chmod(0o644)
    problems = problems_of(folder)
    assert find(problems, "has no #! line")[:2] == ("launch.sh", 1)
    assert find(problems, "is not executable")[0] == "launch.sh"
    script.write_text("#!/usr/bin/perl\n" + script.read_text())
    assert "run by bash" in find(problems_of(folder), "starts with")[3]


def test_check_finds_pages_linking_missing_media(tmp_path):
    folder = new_plugin("Media", tmp_path)
    (folder / "pluginMedia" / "Media.js").unlink()
    write(folder, "about.html", '<html><body>\n<img src="/pluginMedia/Media/logo.png">\n'
                                '<img src="/pluginMedia/OtherPlugin/x.png"></body></html>\n')
    problems = problems_of(folder)
    config_hit = [p for p in problems if p[0] == "config.html" and "pluginMedia/Media.js" in p[3]]
    assert config_hit and config_hit[0][1] == (folder / "config.html").read_text().splitlines().index(
        '<script src="pluginMedia/Media.js"></script>') + 1
    assert [p for p in problems if p[0] == "instance.html" and "Media.js" in p[3]]
    assert find(problems, "pluginMedia/logo.png")[:2] == ("about.html", 2)
    assert not [p for p in problems if "OtherPlugin" in p[3] or "x.png" in p[3]]


def test_check_finds_a_head_end_hidden_in_a_comment(tmp_path):
    folder = new_plugin("Headed", tmp_path)
    write(folder, "plan.html", "<html><head>\n<!-- globals come before </head> -->\n</head><body></body></html>\n")
    assert find(problems_of(folder), "inside a comment")[:3] == ("plan.html", 2, "error")


def test_check_finds_links_in_folders_and_archive_problems(tmp_path, monkeypatch):
    folder = new_plugin("Linked", tmp_path)
    os.symlink("/etc/passwd", folder / "passwd")
    assert find(problems_of(folder), "symbolic link")[0] == "passwd"
    two_roots = tmp_path / "two.zip"
    with zipfile.ZipFile(two_roots, "w") as archive:
        archive.writestr("A/A.py", "x")
        archive.writestr("B/B.py", "x")
    assert find(problems_of(two_roots), "2 root folders")
    linked = tmp_path / "link.zip"
    with zipfile.ZipFile(linked, "w") as archive:
        entry = zipfile.ZipInfo("Linked/evil")
        entry.create_system = 3
        entry.external_attr = (stat.S_IFLNK | 0o777) << 16
        archive.writestr(entry, "/etc/passwd")
        archive.writestr("Linked/Linked.py", "x")
    assert find(problems_of(linked), "is a symbolic link")[0] == "Linked/evil"
    (folder / "passwd").unlink()
    packed, _ = pack_plugin(folder, tmp_path / "Linked.zip")
    monkeypatch.setattr(authoring, "MAX_TOTAL_BYTES", 1000)
    assert find(problems_of(packed), "unpacks to more than 1000 bytes")
    assert find(problems_of(folder), "accepts at most 1000")
    assert main(["plugin", "check", str(tmp_path / "missing.zip")]) == 2


def test_check_json_output(tmp_path, capsys):
    folder = new_plugin("Jsoned", tmp_path)
    (folder / "pluginMedia" / "Jsoned.css").unlink()
    assert main(["plugin", "check", str(folder), "--json"]) == 1
    listed = json.loads(capsys.readouterr().out)
    assert {p["file"] for p in listed} == {"config.html", "instance.html"}
    assert all(p["severity"] == "error" and p["line"] for p in listed)


def test_pack_leaves_junk_out_keeps_modes_and_installs(app, tmp_path):
    folder = new_plugin("Packed", tmp_path)
    for junk in ("__pycache__/Packed.cpython-311.pyc", ".git/HEAD", "Packed.py~", ".Packed.py.swp", "x.pyc"):
        write(folder, junk, "junk")
    write(folder, "bin/tool.sh", "#!/bin/sh\necho tool\n").chmod(0o755)
    out = tmp_path / "out" / "Packed.zip"
    out.parent.mkdir()
    assert main(["plugin", "pack", str(folder), "-o", str(out), "--data-dir", str(tmp_path / "nodata")]) == 0
    with zipfile.ZipFile(out) as archive:
        names = archive.namelist()
        modes = {i.filename: (i.external_attr >> 16) & 0o777 for i in archive.infolist()}
    assert {n.split("/")[0] for n in names} == {"Packed"}
    assert not [n for n in names if "__pycache__" in n or ".git" in n or n.endswith(("~", ".swp", ".pyc"))]
    assert modes["Packed/bin/tool.sh"] == 0o755 and modes["Packed/config.html"] == 0o644
    row = PluginManager(app.store, app.settings.plugins_path).install_zip(out)
    assert (row["name"], row["version"]) == ("Packed", "0.1.0")
    installed = Path(row["path"])
    assert os.access(installed / "bin" / "tool.sh", os.X_OK)
    assert (installed / "pluginMedia" / "Packed.js").is_file()


def test_pack_refuses_what_check_refuses(tmp_path, capsys):
    folder = new_plugin("Refused", tmp_path)
    (folder / "pluginMedia" / "Refused.js").unlink()
    out = tmp_path / "Refused.zip"
    assert main(["plugin", "pack", str(folder), "-o", str(out)]) == 1
    assert "not packed" in capsys.readouterr().err and not out.exists()
    assert not list(tmp_path.glob(".*.part"))
    assert main(["plugin", "pack", str(tmp_path / "nothing")]) == 2


def test_pack_against_the_installed_version(app, tmp_path):
    folder = new_plugin("Versioned", tmp_path)
    manager = PluginManager(app.store, app.settings.plugins_path)
    manager.install_dir(folder)
    data_dir = str(app.settings.data_path)
    assert main(["plugin", "check", str(folder), "--data-dir", data_dir]) == 1
    packed, _ = pack_plugin(folder, tmp_path / "same.zip")
    assert main(["plugin", "check", str(packed), "--data-dir", data_dir]) == 1  # a zip: named by its root
    assert main(["plugin", "pack", str(folder), "-o", str(tmp_path / "v.zip"), "--data-dir", data_dir]) == 1
    source = (folder / "Versioned.py").read_text().replace('version = "0.1.0"', 'version = "0.1.1"')
    (folder / "Versioned.py").write_text(source)
    assert main(["plugin", "pack", str(folder), "-o", str(tmp_path / "v.zip"), "--data-dir", data_dir]) == 0
    assert manager.install_zip(tmp_path / "v.zip")["version"] == "0.1.1"
