"""PluginManager and `torrentlite plugin`: install, upgrade, refused downgrades, uninstall, rescan."""
import json
import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from torrentlite.runner.archive import ArchiveError
from torrentlite.runner.inspect import PluginError
from torrentlite.runner.manager import PluginManager

REPO = Path(__file__).resolve().parent.parent
EXAMPLES = REPO / "torrentlite" / "data" / "example_plugins"

PLUGIN_PY = '''from ion.plugin import *


class {name}(IonPlugin):
    """{doc}"""
    version = "{version}"
    runtypes = [RunType.FULLCHIP, RunType.THUMB]
    runlevels = [RunLevel.DEFAULT, RunLevel.LAST]
    features = [Feature.EXPORT]
    depends = ["coverageAnalysis"]
    major_block = True

    def getUserInput(self):
        return [{{"name": "threshold", "type": "int"}}]

    def launch(self, data=None):
        return True


if __name__ == "__main__":
    PluginCLI()
'''


def plugin_zip(path, name="Demo", version="1.0.0", doc="A demo plugin.", extra=None):
    """A plugin archive `<name>/<name>.py` (+ `extra` {relative path: text})."""
    path = Path(path)
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("%s/%s.py" % (name, name), PLUGIN_PY.format(name=name, version=version, doc=doc))
        for rel, text in (extra or {}).items():
            archive.writestr("%s/%s" % (name, rel), text)
    return path


def plugin_folder(parent, name="Demo", version="1.0.0", extra=None):
    folder = Path(parent) / name
    folder.mkdir(parents=True)
    (folder / (name + ".py")).write_text(PLUGIN_PY.format(name=name, version=version, doc="From a folder."))
    for rel, text in (extra or {}).items():
        (folder / rel).parent.mkdir(parents=True, exist_ok=True)
        (folder / rel).write_text(text)
    return folder


@pytest.fixture
def manager(app):
    return PluginManager(app.store, app.settings.plugins_path)


def plugin_rows(manager, name):
    return [r for r in manager.rows() if r["name"] == name]


def test_install_zip_records_everything(manager, tmp_path):
    row = manager.install_zip(plugin_zip(tmp_path / "d.zip", extra={"pluginconfig.json": '{"threshold": 3}',
                                                                    "config.html": "<html></html>"}))
    folder = manager.plugins_path / "Demo"
    assert folder.is_dir() and (folder / "config.html").is_file()
    assert row["active"] and row["selected"] and not row["defaultSelected"]
    assert row["version"] == "1.0.0" and row["path"] == str(folder)
    assert row["script"] == str(folder / "Demo.py")
    assert row["description"] == "A demo plugin."
    assert row["majorBlock"] is True
    assert row["config"] == {"threshold": 3}
    assert row["userinputfields"] == [{"name": "threshold", "type": "int"}]
    assert row["pluginsettings"] == {"features": ["export"], "runtypes": ["wholechip", "thumbnail"],
                                     "runlevels": ["default", "last"], "depends": ["coverageAnalysis"]}
    assert row["date"] is not None
    # Nothing else is left in the plugins folder (no temporary extraction folders).
    assert sorted(p.name for p in manager.plugins_path.iterdir() if p.name != ".lock") == ["Demo"]


def test_upgrade_archives_old_version_and_carries_config(manager, tmp_path):
    first = manager.install_zip(plugin_zip(tmp_path / "a.zip", version="1.9.0", doc="old"))
    manager._update(first["id"], {"config": {"threshold": 7}, "defaultSelected": True})
    second = manager.install_zip(plugin_zip(tmp_path / "b.zip", version="1.10.0", doc="new"))
    assert second["id"] != first["id"]
    assert second["active"] and second["config"] == {"threshold": 7} and second["defaultSelected"]
    old = manager.get(first["id"])
    assert not old["active"] and old["path"] == ""
    assert [r["version"] for r in plugin_rows(manager, "Demo") if r["active"]] == ["1.10.0"]
    archived = manager.plugins_path / "archive" / "Demo" / "1.9.0" / "Demo.py"
    assert 'version = "1.9.0"' in archived.read_text()
    assert 'version = "1.10.0"' in (manager.plugins_path / "Demo" / "Demo.py").read_text()


@pytest.mark.parametrize("version,word", [("1.0.0", "same version"), ("1.0", "same version"),
                                          ("0.9.9", "older"), ("1.0.0-rc1", "older")])
def test_same_or_older_version_refused(manager, tmp_path, version, word):
    manager.install_zip(plugin_zip(tmp_path / "a.zip", version="1.0.0"))
    before = sorted(str(p) for p in manager.plugins_path.rglob("*"))
    with pytest.raises(PluginError) as err:
        manager.install_zip(plugin_zip(tmp_path / "b.zip", version=version))
    assert word in err.value.message
    assert sorted(str(p) for p in manager.plugins_path.rglob("*")) == before
    assert len(plugin_rows(manager, "Demo")) == 1


def test_uninstall_then_reinstall_same_version_reuses_row(manager, tmp_path):
    row = manager.install_zip(plugin_zip(tmp_path / "a.zip"))
    manager.uninstall(row["id"])
    assert not (manager.plugins_path / "Demo").exists()
    gone = manager.get(row["id"])
    assert not gone["active"] and gone["path"] == ""
    again = manager.install_zip(plugin_zip(tmp_path / "a.zip"))
    assert again["id"] == row["id"] and again["active"]


def test_downgrade_possible_after_uninstall(manager, tmp_path):
    row = manager.install_zip(plugin_zip(tmp_path / "a.zip", version="2.0"))
    manager.uninstall(row["id"])
    older = manager.install_zip(plugin_zip(tmp_path / "b.zip", version="1.0"))
    assert older["version"] == "1.0" and older["active"]


def test_hostile_archive_leaves_nothing(manager, tmp_path):
    bad = tmp_path / "bad.zip"
    with zipfile.ZipFile(bad, "w") as archive:
        archive.writestr("Demo/Demo.py", PLUGIN_PY.format(name="Demo", version="1.0", doc="x"))
        archive.writestr("Demo/../../evil.py", "x")
    with pytest.raises(ArchiveError):
        manager.install_zip(bad)
    assert [p.name for p in manager.plugins_path.iterdir() if p.name != ".lock"] == []
    assert manager.rows() == []


def test_install_examples_from_folders(manager):
    for folder in sorted(EXAMPLES.iterdir()):
        row = manager.install_dir(folder)
        assert row["name"] == folder.name and row["active"]
        assert (manager.plugins_path / folder.name / (folder.name + ".py")).is_file()
    assert {r["name"] for r in manager.rows(active=True)} == {f.name for f in EXAMPLES.iterdir()}
    # The sources are untouched.
    assert (EXAMPLES / "LogParser" / "LogParser.py").is_file()


def test_rescan_adds_found_and_deactivates_missing(manager, tmp_path):
    kept = manager.install_zip(plugin_zip(tmp_path / "a.zip", name="Kept"))
    lost = manager.install_zip(plugin_zip(tmp_path / "b.zip", name="Lost"))
    noscript = manager.install_zip(plugin_zip(tmp_path / "c.zip", name="NoScript"))
    shutil.rmtree(manager.plugins_path / "Lost")
    (manager.plugins_path / "NoScript" / "NoScript.py").unlink()
    plugin_folder(manager.plugins_path, "ByHand", version="3.1", extra={"pluginconfig.json": '{"x": 1}'})
    plugin_folder(manager.plugins_path / "archive", "Archived")  # reserved folders are skipped
    (manager.plugins_path / "Broken").mkdir()
    (manager.plugins_path / "Broken" / "Broken.py").write_text("class Broken:\n    pass\n")
    report = manager.rescan()
    assert report["added"] == ["ByHand"]
    assert set(report["deactivated"]) == {"Lost", "NoScript"}
    assert "Broken" in report["errors"]
    assert manager.get(kept["id"])["active"]
    assert not manager.get(lost["id"])["active"] and not manager.get(noscript["id"])["active"]
    by_hand = manager.active_row("ByHand")
    assert by_hand["version"] == "3.1" and by_hand["selected"] and by_hand["config"] == {"x": 1}
    assert manager.active_row("Archived") is None and manager.active_row("Broken") is None
    # A second rescan changes nothing.
    again = manager.rescan()
    assert again["added"] == [] and again["deactivated"] == []


def test_rescan_records_new_version_replaced_by_hand(manager, tmp_path):
    first = manager.install_zip(plugin_zip(tmp_path / "a.zip", version="1.0"))
    manager._update(first["id"], {"config": {"keep": True}})
    text = (manager.plugins_path / "Demo" / "Demo.py").read_text().replace('"1.0"', '"1.1"')
    (manager.plugins_path / "Demo" / "Demo.py").write_text(text)
    row = manager.rescan_one(first["id"])
    assert row["version"] == "1.1" and row["active"] and row["config"] == {"keep": True}
    assert not manager.get(first["id"])["active"]


def test_rescan_one_deactivates_missing(manager, tmp_path):
    row = manager.install_zip(plugin_zip(tmp_path / "a.zip"))
    shutil.rmtree(manager.plugins_path / "Demo")
    assert not manager.rescan_one(row["id"])["active"]


def test_info_and_lineage(manager, tmp_path):
    row = manager.install_zip(plugin_zip(tmp_path / "a.zip", extra={"config.html": "<html></html>"}))
    info = manager.info(row["id"])
    assert info["name"] == "Demo" and info["version"] == "1.0.0" and info["docs"] == "A demo plugin."
    assert info["runtypes"] == ["wholechip", "thumbnail"] and info["major_block"] is True
    [entry] = manager.lineage()
    assert entry["CurrentVersion"] == "1.0.0" and entry["id"] == row["id"]
    assert entry["isConfig"] == "/configure/plugins/plugin/%d/configure/config/" % row["id"]
    assert entry["isPlanConfig"] is False
    assert manager.lineage(selected=False) == []
    manager.uninstall(row["id"])
    assert manager.info(row["id"]) is None
    assert manager.lineage() == []


# -- CLI -------------------------------------------------------------------------------------------
def run_cli(data_dir, *args):
    env = {**os.environ, "PYTHONPATH": str(REPO) + os.pathsep + os.environ.get("PYTHONPATH", "")}
    return subprocess.run([sys.executable, "-m", "torrentlite", "plugin", *args, "--data-dir", str(data_dir)],
                          capture_output=True, text=True, env=env, timeout=120)


def test_cli_flow(tmp_path):
    data = tmp_path / "data"
    refused = run_cli(data, "list")
    assert refused.returncode == 2 and "not a torrentlite data directory" in refused.stderr and not data.exists()
    init = subprocess.run([sys.executable, "-m", "torrentlite", "init", "--data-dir", str(data)], capture_output=True,
                          text=True, env={**os.environ, "PYTHONPATH": str(REPO)}, timeout=120)
    assert init.returncode == 0, init.stderr
    done = run_cli(data, "install", str(plugin_zip(tmp_path / "a.zip", version="1.0")))
    assert done.returncode == 0, done.stderr
    assert "installed Demo 1.0" in done.stdout
    done = run_cli(data, "install", str(EXAMPLES / "ProgressExample"))
    assert done.returncode == 0, done.stderr
    same = run_cli(data, "install", str(plugin_zip(tmp_path / "b.zip", version="1.0")))
    assert same.returncode == 2 and "same version" in same.stderr and "Traceback" not in same.stderr
    done = run_cli(data, "install", str(plugin_zip(tmp_path / "c.zip", version="1.2")))
    assert done.returncode == 0, done.stderr
    listing = run_cli(data, "list")
    assert listing.returncode == 0
    lines = sorted(line.split("\t")[1:3] for line in listing.stdout.splitlines())
    assert lines == [["Demo", "1.2"], ["ProgressExample", "5.4.0.0"]]
    info = run_cli(data, "info", "Demo")
    assert info.returncode == 0 and json.loads(info.stdout)["version"] == "1.2"
    gone = run_cli(data, "uninstall", "Demo")
    assert gone.returncode == 0 and not (data / "plugins" / "Demo").exists()
    missing = run_cli(data, "uninstall", "Demo")
    assert missing.returncode == 2 and "no installed plugin" in missing.stderr
    plugin_folder(data / "plugins", "Manual", version="0.1")
    rescan = run_cli(data, "rescan")
    assert rescan.returncode == 0 and "added: Manual" in rescan.stdout
    bad = tmp_path / "bad.zip"
    bad.write_bytes(b"not a zip")
    refused = run_cli(data, "install", str(bad))
    assert refused.returncode == 2 and "not a readable zip" in refused.stderr
    nothing = run_cli(data, "install", str(tmp_path / "nope.zip"))
    assert nothing.returncode == 2 and "does not exist" in nothing.stderr
