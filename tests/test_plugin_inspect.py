"""Static plugin inspection over a corpus of plugins written in the styles real plugins use."""
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from torrentlite.runner.inspect import (
    PLUGINLIB, PluginError, compare_versions, is_valid_version, read_plugin_info, run_inspect,
)

CORPUS = Path(__file__).parent / "plugin_corpus"


def read(name, **kwargs):
    return read_plugin_info(CORPUS / name, name, **kwargs)


def test_class_attributes_and_files():
    info = read("ClassAttrs")
    assert info.name == "ClassAttrs"
    assert info.version == "5.4.0.1"
    assert info.runtypes == ["wholechip", "thumbnail"]
    assert info.runlevels == ["default"]
    assert info.features == []
    assert info.depends == ["coverageAnalysis", "variantCaller"]
    assert info.major_block is True
    assert info.requires_configuration is True
    assert info.docs == "Writes a summary of the run.\n\nSecond paragraph of the docs."
    assert info.config == [{"name": "threshold", "type": "int", "default": 5}, {"name": "mode", "value": None}]
    assert (info.script, info.language, info.python2, info.dynamic) == ("ClassAttrs.py", "python3", False, False)
    assert info.has_config_html and info.has_plan_html and info.has_instance_html and info.has_about_html
    assert info.has_extend and info.has_plugin_media and info.has_pluginconfig
    assert info.default_config == {"threshold": 5, "mode": "fast"}
    assert info.errors == []
    assert info.as_info()["docs"] == info.docs
    assert info.pluginsettings() == {"features": [], "runtypes": ["wholechip", "thumbnail"],
                                     "runlevels": ["default"], "depends": ["coverageAnalysis", "variantCaller"]}


def test_enum_lists_and_tuples():
    info = read("EnumLists")
    assert info.version == "1.0"
    assert info.runtypes == ["wholechip", "thumbnail", "composite"]
    assert info.runlevels == ["pre", "block", "post"]
    assert info.features == ["export"]
    assert (info.major_block, info.requires_configuration, info.docs, info.config) == (False, False, "", None)
    assert not (info.has_config_html or info.has_plan_html or info.has_instance_html or info.has_about_html)
    assert not (info.has_extend or info.has_plugin_media or info.has_pluginconfig)
    assert (info.default_config, info.dynamic, info.errors) == (None, False, [])


def test_module_constants_are_resolved_without_running_code():
    info = read("ModuleConstant")
    assert (info.version, info.runlevels, info.features) == ("3.0.1", ["last"], ["export"])
    assert info.docs == "Version from a module-level constant."
    assert info.dynamic is False


def test_callables_fall_back_to_subprocess():
    info = read("Callables")
    assert info.dynamic is True
    assert info.version == "2.0.3"
    assert info.runtypes == ["thumbnail"]
    assert info.runlevels == ["default", "last"]
    assert info.depends == ["BasePlugin"]
    assert info.config == [{"name": "a"}, {"name": "b"}]
    assert info.errors == []


def test_python2_source_read_statically():
    info = read("Py2Plugin")
    assert (info.language, info.python2, info.dynamic) == ("python2", True, False)
    assert info.version == "4.2.1.3"
    assert info.runtypes == ["wholechip", "thumbnail", "composite"]
    assert info.runlevels == ["default"]
    assert info.features == []
    assert info.depends == ["coverageAnalysis"]
    assert info.major_block is True
    assert info.requires_configuration is False
    assert info.docs == "Counts reads per barcode;\nwritten for Python 2."
    assert info.config == {"columns": [{"field": "sample", "editable": False}], "limit": 10}
    assert len(info.errors) == 1 and "is not Python 3" in info.errors[0] and "line 7" in info.errors[0]


def test_python2_computed_value_is_an_error_not_a_subprocess():
    info = read("Py2Computed")
    assert (info.language, info.version, info.runtypes, info.runlevels) == ("python2", "1.0.0", ["thumbnail"], [])
    assert info.dynamic is False
    assert any("could not read runlevels" in e and "levels" in e for e in info.errors)


def test_launch_sh_with_plural_settings():
    info = read("ShellPlugin")
    assert (info.script, info.language, info.version) == ("launch.sh", "bash", "2.1.0-beta")
    assert info.major_block is True
    assert info.runtypes == ["composite", "wholechip"]
    assert info.runlevels == ["pre", "block", "post"]
    assert info.features == ["export"]
    assert info.depends == ["Other"]
    assert (info.docs, info.config, info.requires_configuration, info.errors) == ("", None, False, [])


def test_launch_sh_with_singular_settings_and_no_version():
    info = read("ShellSingular")
    assert (info.version, info.major_block) == ("0", True)
    assert (info.runtypes, info.runlevels, info.features, info.depends) == (["thumbnail"], ["last"], [], [])


def test_launch_sh_defaults():
    info = read("ShellBare")
    assert (info.version, info.major_block) == ("3.3", False)
    assert (info.runtypes, info.runlevels, info.features, info.depends) == (["wholechip", "thumbnail"], [], [], [])


def test_python_script_preferred_over_launch_sh():
    info = read("BothScripts")
    assert (info.script, info.language, info.version) == ("BothScripts.py", "python3", "2.0")


def test_module_with_several_classes_picks_the_named_one_and_inherits():
    info = read("TwoClasses")
    assert info.version == "1.5.0"
    assert info.runtypes == ["composite"]
    assert info.runlevels == ["default"]
    assert info.docs == "The real plugin."
    assert info.config == {"shared": True}
    assert info.dynamic is False


@pytest.mark.parametrize("name,message", [
    ("MissingVersion", "has no version"),
    ("MissingClass", "does not define a class named MissingClass"),
    ("NoEntry", "neither NoEntry.py nor launch.sh"),
    ("NotIonPlugin", "does not extend IonPlugin"),
])
def test_not_a_plugin(name, message):
    with pytest.raises(PluginError, match=message):
        read(name)


def test_broken_import_is_reported_as_an_error_value():
    info = read("BrokenImport")
    assert info.version == "1.0.0"
    assert info.runtypes == []
    assert any("module_that_does_not_exist" in e for e in info.errors)
    assert any("could not read runtypes" in e for e in info.errors)


def test_slow_import_times_out():
    started = time.monotonic()
    info = read("SlowImport", timeout=1)
    assert time.monotonic() - started < 10
    assert info.version == "1.0.0"
    assert any("timed out" in e for e in info.errors)


def test_run_inspect_leaves_no_bytecode(tmp_path):
    shutil.copytree(CORPUS / "Callables", tmp_path / "Callables")
    data = run_inspect(tmp_path / "Callables", "Callables")
    assert data["version"] == "2.0.3"
    assert not list((tmp_path / "Callables").rglob("__pycache__"))


def test_computed_version_in_python2_is_not_a_plugin(tmp_path):
    folder = tmp_path / "Legacy"
    folder.mkdir()
    (folder / "Legacy.py").write_text(
        "from ion.plugin import *\nimport version_module\n"
        "class Legacy(IonPlugin):\n    version = version_module.VERSION\n"
        "    def launch(self):\n        print 'x'\n")
    with pytest.raises(PluginError, match="cannot read the version"):
        read_plugin_info(folder, "Legacy")


def test_bad_json_side_files_are_errors(tmp_path):
    folder = tmp_path / "Shell"
    folder.mkdir()
    (folder / "launch.sh").write_text('VERSION="1.0"\n')
    (folder / "pluginsettings.json").write_text("{not json")
    (folder / "pluginconfig.json").write_text("[1, 2")
    info = read_plugin_info(folder, "Shell")
    assert info.runtypes == ["wholechip", "thumbnail"]
    assert info.default_config is None
    assert len(info.errors) == 2


def test_server_process_cannot_import_ion():
    code = "import torrentlite.runner.inspect, torrentlite.runner.archive\nimport ion"
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          cwd=str(Path(__file__).parent.parent))
    assert proc.returncode != 0 and "No module named 'ion'" in proc.stderr
    assert (PLUGINLIB / "ion" / "plugin" / "__init__.py").is_file()


VERSION_ORDER = [
    ("0.5.0", "0.10.0", -1),
    ("5.4.0.1", "5.4", 1),
    ("5.4", "5.4.0", 0),
    ("5.4.0.0", "5.4.0.0", 0),
    ("1.2.3-beta", "1.2.3", -1),
    ("1.2.3", "1.2.3.1", -1),
    ("1.2.3-beta", "1.2.3.1", -1),
    ("1.2.3-alpha", "1.2.3-beta", -1),
    ("1.2.3-rc1", "1.2.3-rc2", -1),
    ("1.2.3-RC1", "1.2.3-rc1", 0),
    ("2.0", "1.99.99", 1),
    ("10", "9", 1),
    ("1.0b1", "1.0", -1),
    ("0", "0.0.1", -1),
]


@pytest.mark.parametrize("a,b,expected", VERSION_ORDER)
def test_compare_versions(a, b, expected):
    assert compare_versions(a, b) == expected
    assert compare_versions(b, a) == -expected


@pytest.mark.parametrize("version,valid", [
    ("1", True), ("5.4.0.0", True), ("1.2.3-beta", True), ("2.0rc1", True), ("1.0-1", True),
    ("1.0.0+build.7", True), ("3.3", True), ("0", True),
    ("", False), ("(Unknown)", False), ("v1.2", False), ("1..2", False), ("1.2.", False), (" 1.2", False),
    ("1.2/3", False), ("1.0 final", False), ("latest", False), ("1" * 65, False), (None, False),
])
def test_is_valid_version(version, valid):
    assert is_valid_version(version) is valid
