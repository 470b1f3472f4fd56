"""The ion.plugin package plugins import: metaclass rules, PluginCLI in real subprocesses, REST helper, examples."""
import http.server
import json
import os
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import pytest

from torrentlite.runner.inspect import PLUGINLIB

EXAMPLES = Path(__file__).parent.parent / "torrentlite" / "data" / "example_plugins"
EXAMPLE_NAMES = ["LogParser", "CallSubprocessExample", "BarcodesExample", "RestApiExample", "ProgressExample"]


@pytest.fixture(scope="module")
def ion_plugin():
    sys.path.insert(0, str(PLUGINLIB))
    try:
        import ion.plugin
        yield ion.plugin
    finally:
        sys.path.remove(str(PLUGINLIB))


def write_plugin(root, name, body):
    folder = root / name
    folder.mkdir(parents=True)
    source = "import sys\nfrom ion.plugin import *\n\n" + textwrap.dedent(body) + \
        '\n\nif __name__ == "__main__":\n    PluginCLI()\n'
    (folder / (name + ".py")).write_text(source)
    return folder


def run(plugin_dir, *args, cwd=None):
    env = dict(os.environ, PYTHONPATH=str(PLUGINLIB))
    script = plugin_dir / (plugin_dir.name + ".py")
    return subprocess.run([sys.executable, str(script), *args], cwd=str(cwd or plugin_dir), env=env,
                          capture_output=True, text=True, timeout=60)


def write_startplugin(folder, api_url="http://127.0.0.1:9/rundb/api", plugin_path="", **runinfo):
    data = {"runinfo": dict({"api_url": api_url, "api_key": "k" * 40, "pluginresult": 7, "pk": 3,
                             "results_dir": str(folder), "raw_data_dir": str(folder),
                             "plugin": {"name": "X", "path": plugin_path, "pluginconfig": {"g": 1}}}, **runinfo),
            "pluginconfig": {"effective": True}}
    (folder / "startplugin.json").write_text(json.dumps(data))
    return data


# -- class-definition behaviour ------------------------------------------------------------------------------

def test_metaclass_normalises_attributes(ion_plugin):
    calls = []

    def levels():
        calls.append(1)
        return [ion_plugin.RunLevel.PRE]

    class Meta(ion_plugin.IonPlugin):
        version = staticmethod(lambda: 1.5)
        author = None
        runlevels = levels
        results = lambda self: {"computed": self.name}  # noqa: E731

    class Other(ion_plugin.IonPlugin):
        """Documented."""
        name = "OtherName"
        version = property(lambda self: "2.0")

    assert (Meta.version, Meta.__version__, Meta.author) == ("1.5", "1.5", "(Unknown)")
    assert (Meta.name, Meta.__doc__, Other.name, Other.version) == ("Meta", "", "OtherName", "2.0")
    assert calls == []
    assert Meta.runlevels == ["pre"] and Meta().runlevels == ["pre"] and calls == [1]
    assert Meta().results == {"computed": "Meta"}
    assert ion_plugin.base.registry["OtherName"] is Other
    instance = Meta()
    assert (instance.context, instance.blockcount, instance.exit_status, instance.data) == ({}, 0, -1, {})
    assert instance.info()["runlevels"] == ["pre"] and instance.info()["name"] == "Meta"


def test_constants(ion_plugin):
    from ion.plugin import constants

    assert (constants.RunType.COMPOSITE, constants.RunType.THUMB, constants.RunType.FULLCHIP) == \
        ("composite", "thumbnail", "wholechip")
    assert ion_plugin.runLevelsList() == ["pre", "block", "separator", "default", "post", "last"]
    assert ion_plugin.Feature.EXPORT == "export"
    assert ion_plugin.lookupEnum(ion_plugin.RunLevel, "last") == "LAST"
    assert ion_plugin.lookupEnum(ion_plugin.RunType, "nope") is None
    assert ion_plugin.cli is ion_plugin.PluginCLI


def test_validate_and_startplugin(ion_plugin, tmp_path, monkeypatch):
    class Needs(ion_plugin.IonPlugin):
        version = "1.0"
        requires_configuration = True

        def custom_validation(self, config, run_mode):
            return ["no manual runs"] if run_mode == "manual" else []

    plugin = Needs()
    assert plugin.validate({}, "pipeline") == ["Needs requires configuration before execution."]
    assert plugin.validate({"a": 1}, "manual") == ["no manual runs"]
    assert plugin.validate({"a": 1}, "pipeline") == []
    monkeypatch.chdir(tmp_path)
    with pytest.raises(FileNotFoundError):
        plugin.startplugin
    write_startplugin(tmp_path)
    assert plugin.runinfo["pluginresult"] == 7
    assert plugin.plugin_parameters["name"] == "X"
    assert plugin.configuration == {"g": 1}
    (tmp_path / "startplugin.json").unlink()
    assert plugin.startplugin["pluginconfig"] == {"effective": True}  # cached


def test_generate_output(ion_plugin, tmp_path, monkeypatch):
    class Out(ion_plugin.IonPlugin):
        version = "1.0"

        def launch(self, data=None):
            self.results = {"reads": 10}
            return True

    monkeypatch.chdir(tmp_path)
    assert Out().launch_wrapper() is True
    assert json.loads((tmp_path / "results.json").read_text()) == {"reads": 10}
    assert not (tmp_path / "output.json").exists()


# -- the command line ---------------------------------------------------------------------------------------

def test_inspect_and_version(tmp_path):
    folder = write_plugin(tmp_path, "Cli", '''
        def _version():
            return "3." + "1"

        class Cli(IonPlugin):
            version = _version
            runtypes = lambda: (RunType.THUMB,)
            features = [Feature.EXPORT]
            major_block = True

            def getUserInput(self):
                return {"x": [1, 2]}

            def launch(self, data=None):
                return True
        ''')
    proc = run(folder, "--inspect")
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout) == {
        "name": "Cli", "version": "3.1", "config": {"x": [1, 2]}, "runtypes": ["thumbnail"],
        "features": ["export"], "runlevels": [], "depends": [], "docs": "", "major_block": True,
        "requires_configuration": False,
    }
    assert run(folder, "--info").stdout == proc.stdout
    version = run(folder, "--version")
    assert (version.returncode, version.stdout.strip()) == (0, "Ion Torrent Plugin - Cli.py v3.1")


@pytest.mark.parametrize("body,code,marker", [
    ("return False", 0, "LAUNCHED"),
    ("return True", 0, "LAUNCHED"),
    ("return 17", 0, "LAUNCHED"),
    ("raise RuntimeError('boom')", 1, "boom"),
    ("sys.exit(3)", 3, "LAUNCHED"),
])
def test_launch_exit_codes(tmp_path, body, code, marker):
    folder = write_plugin(tmp_path, "Exits", '''
        class Exits(IonPlugin):
            version = "1.0"

            def launch(self, data=None):
                print("LAUNCHED", flush=True)
                %s
        ''' % body)
    proc = run(folder, "-vv")
    assert proc.returncode == code
    assert marker in proc.stdout + proc.stderr


def test_pre_launch_false_dry_run_block_and_columns(tmp_path):
    folder = write_plugin(tmp_path, "Modes", '''
        class Modes(IonPlugin):
            version = "1.0"

            def pre_launch(self):
                import os
                return not os.path.exists("skip")

            def launch(self, data=None):
                print("LAUNCHED")
                return True

            def block(self, block=None):
                print("BLOCK", block)

            def barcodetable_columns(self):
                return [{"field": "selected", "editable": True}]
        ''')
    work = tmp_path / "work"
    work.mkdir()
    (work / "skip").write_text("")
    skipped = run(folder, cwd=work)
    assert skipped.returncode == 0 and "LAUNCHED" not in skipped.stdout
    dry = run(folder, "--dry-run")
    assert dry.returncode == 0 and "LAUNCHED" not in dry.stdout
    block = run(folder, "--runmode", "block", "--block", "X3_Y5")
    assert block.stdout.strip() == "BLOCK X3_Y5"
    columns = run(folder, "--bctable-columns")
    assert json.loads(columns.stdout) == [{"field": "selected", "editable": True}]
    assert run(folder, "--bogus").returncode == 2


# -- REST helper --------------------------------------------------------------------------------------------

class _Api(http.server.BaseHTTPRequestHandler):
    log_message = lambda self, *args: None  # noqa: E731

    def do_GET(self):
        server = self.server
        server.requests.append(self.path)
        if server.drop_first and len(server.requests) == 1:
            self.close_connection = True  # hang up without an answer: the client must retry
            return
        if server.stall_first and len(server.requests) == 1:
            time.sleep(1.0)  # longer than the client's first timeout
        if self.path.startswith("/rundb/api/v1/missing/"):
            self.send_error(404)
            return
        body = json.dumps({"path": self.path, "resultsName": "Auto_test_3", "status": "Completed"}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


@pytest.fixture
def api_server():
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Api)
    server.requests, server.drop_first, server.stall_first = [], False, False
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


def test_get_restobj_retries_and_uses_single_slashes(ion_plugin, api_server, tmp_path, monkeypatch):
    class Rest(ion_plugin.IonPlugin):
        version = "1.0"

    monkeypatch.chdir(tmp_path)
    write_startplugin(tmp_path, api_url="http://127.0.0.1:%d/rundb/api/" % api_server.server_port)
    api_server.drop_first = True
    data = Rest().get_restobj("/results/3/", params={"format": "json"}, attempts=3)
    assert len(api_server.requests) == 2
    path = data["path"]
    assert path.startswith("/rundb/api/v1/results/3/?")
    assert "pluginresult=7" in path and "api_key=" + "k" * 40 in path and "format=json" in path
    assert Rest().get_restobj("missing") is None


def test_get_restobj_retries_after_a_timeout(ion_plugin, api_server, tmp_path, monkeypatch):
    class Slow(ion_plugin.IonPlugin):
        version = "1.0"

    monkeypatch.chdir(tmp_path)
    write_startplugin(tmp_path, api_url="http://127.0.0.1:%d/rundb/api" % api_server.server_port)
    api_server.stall_first = True
    data = Slow().get_restobj("results", timeout=0.3, attempts=2)
    assert data["status"] == "Completed" and len(api_server.requests) == 2


def test_get_restobj_gives_up_after_attempts(ion_plugin, tmp_path, monkeypatch):
    class Down(ion_plugin.IonPlugin):
        version = "1.0"

    monkeypatch.chdir(tmp_path)
    write_startplugin(tmp_path, api_url="http://127.0.0.1:9/rundb/api")
    with pytest.raises(OSError):
        Down().get_restobj("results", attempts=2, timeout=2)


# -- the SDK examples ---------------------------------------------------------------------------------------

@pytest.mark.parametrize("name", EXAMPLE_NAMES)
def test_example_plugins_inspect(name):
    proc = run(EXAMPLES / name, "--inspect")
    assert proc.returncode == 0, proc.stderr
    info = json.loads(proc.stdout)
    assert (info["name"], info["version"]) == (name, "5.4.0.0")
    assert info["runtypes"] == ["wholechip", "thumbnail", "composite"] and info["runlevels"] == ["default"]


def test_example_plugins_run(tmp_path, api_server):
    for name in ("LogParser", "BarcodesExample", "CallSubprocessExample", "RestApiExample"):
        work = tmp_path / name
        work.mkdir()
        write_startplugin(work, api_url="http://127.0.0.1:%d/rundb/api" % api_server.server_port,
                          plugin_path=str(EXAMPLES / name))
        (work / "explog_final.txt").write_text("Project: demo\nSample: s1\nnoise line\n")
        (work / "barcodes.json").write_text(json.dumps({"IonXpress_001": {"bam_file": "IonXpress_001_rawlib.bam"}}))
        proc = run(EXAMPLES / name, "-vv", cwd=work)
        assert proc.returncode == 0, (name, proc.stderr)
    assert json.loads((tmp_path / "LogParser" / "results.json").read_text())["Project"] == "demo"
    assert "Bam File: IonXpress_001_rawlib.bam" in run(EXAMPLES / "BarcodesExample", cwd=tmp_path / "BarcodesExample").stdout
    assert "argument: Second Argument" in run(EXAMPLES / "CallSubprocessExample",
                                              cwd=tmp_path / "CallSubprocessExample").stdout
    assert "Auto_test_3" in (tmp_path / "RestApiExample" / "RestApiExample_block.html").read_text()
