"""Python 2 plugins: they run in the Python 2.7 environment (with ion.utils, Django templates, their key), or fail
with one clear line when there is none."""
from __future__ import annotations

import json
import textwrap
from pathlib import Path

import pytest

from legacy import cached_env, link_env, python2_or_skip
from runplugins import job_rows, register_plugin, scheduler_for
from served import served  # noqa: F401  (a fixture)

RESULT = 1

LEGACY_PLUGIN = '''\
#!/usr/bin/env python
import json, os, subprocess, sys
import urllib2
import requests, simplejson, numpy, pysam
from ion.plugin import *
from ion.utils import compress
from ion.utils.blockprocessing import bam2fastq_command, printtime
from ion.utils.explogparser import parse_log
from ion.plugin.bedParser import IonBedReader
from django.conf import settings
from django.template.loader import render_to_string


class Legacy(IonPlugin):
    """A Torrent Suite 5.x style plugin: Python 2 only."""
    version = "2.0.1"
    runlevels = [RunLevel.DEFAULT]

    def launch(self, data=None):
        print "Legacy running on Python %d.%d" % sys.version_info[:2]
        info = self.startplugin["runinfo"]
        level = self.startplugin["runplugin"]["runlevel"]
        auth = {"pluginresult": info["pluginresult"], "api_key": info["api_key"]}
        try:
            result = json.load(urllib2.urlopen("%s/v1/results/%s/?pluginresult=%s&api_key=%s" % (
                info["api_url"], info["pk"], info["pluginresult"], info["api_key"])))
        except urllib2.HTTPError, e:
            raise SystemExit("results read refused: %s" % e)
        mine = requests.get("%s/v1/pluginresult/%s/" % (info["api_url"], info["pluginresult"]), params=auth)
        mine.raise_for_status()
        settings.configure(TEMPLATE_DIRS=(os.path.join(info["plugin_dir"], "templates"),))
        html = render_to_string("block.html", {"name": result["resultsName"], "levels": [level, "x"]})
        open("Legacy_block.html", "w").write(html)
        helper = subprocess.check_output(["python", os.path.join(info["plugin_dir"], "helper.py")]).strip()
        open("notes.bed", "w").write("track name=t\\nchr1\\t10\\t20\\tr1\\nchr1\\t30\\t40\\tr2\\n")
        bed = IonBedReader(filename="notes.bed").load()
        compress.make_zip("out.zip", "notes.bed", arcname="notes.bed", use_sys_zip=False)
        header = {"HD": {"VN": "1.0"}, "SQ": [{"LN": 100, "SN": "chr1"}]}
        out = pysam.AlignmentFile("reads.bam", "wb", header=header)
        read = pysam.AlignedSegment()
        read.query_name, read.query_sequence, read.flag = "r1", "ACGTTG", 16
        read.reference_id, read.reference_start, read.mapping_quality = 0, 5, 20
        read.cigartuples = [(0, 6)]
        read.query_qualities = pysam.qualitystring_to_array("IIIII#")
        out.write(read)
        out.close()
        subprocess.check_call(bam2fastq_command("reads.bam", "reads.fastq"), shell=True)
        printtime("converted")
        explog = parse_log("Gain: 0.5\\nPrerun: yes\\n")
        store = {"python": list(sys.version_info[:2]), "helper": helper, "level": level,
                 "result_name": result["resultsName"], "pluginresult_id": mine.json()["id"],
                 "bed_ends": bed["chromEnd"], "fastq": open("reads.fastq").read().split("\\n")[1:4],
                 "explog": [explog["gain"], explog["prerun"]], "numpy": int(numpy.arange(4).sum()),
                 "simplejson": simplejson.loads("[1]")}
        json.dump(store, open("results.json", "w"))
        return True


if __name__ == "__main__":
    PluginCLI()
'''

HELPER = 'import sys\nprint "helper on Python", sys.version_info[0]\n'
TEMPLATE = "{% for level in levels %}<b>{{ name }}:{{ level|upper }}</b>{% endfor %}\n"


def write_legacy(root: Path, main: str = LEGACY_PLUGIN, helper: str = HELPER) -> Path:
    folder = root / "Legacy"
    (folder / "templates").mkdir(parents=True)
    (folder / "Legacy.py").write_text(main)
    (folder / "helper.py").write_text(helper)
    (folder / "templates" / "block.html").write_text(TEMPLATE)
    return folder


@pytest.fixture(scope="module")
def legacy_cache():
    return cached_env(python2_or_skip())




def _log(out) -> str:
    return Path(out["results_dir"], "drmaa_stdout.txt").read_text()


def test_python2_plugin_completes_in_the_legacy_environment(app, served, legacy_cache, tmp_path):
    link_env(app.settings.data_path, legacy_cache)
    register_plugin(app.store, write_legacy(tmp_path / "plugins"), version="2.0.1")
    sched = scheduler_for(app, web_root=served)
    [out] = sched.launch(RESULT, ["Legacy"])
    assert sched.run_until_idle(120)
    [job] = job_rows(app.store, out["pluginresult"])
    assert job["state"] == "Completed", _log(out)[-3000:]
    store = json.loads(app.store.db.execute_sql('SELECT store FROM "pluginresult" WHERE id = ?',
                                                (out["pluginresult"],)).fetchone()[0])
    result_name = app.store.db.execute_sql('SELECT "resultsName" FROM "results" WHERE id = ?',
                                           (RESULT,)).fetchone()[0]
    assert store == {"python": [2, 7], "helper": "helper on Python 2", "level": "default",
                     "result_name": result_name, "pluginresult_id": out["pluginresult"], "bed_ends": [20, 40],
                     "fastq": ["CAACGT", "+", "#IIIII"], "explog": [0.5, True], "numpy": 6, "simplejson": [1]}
    block = Path(out["results_dir"], "Legacy_block.html").read_text()
    assert block.strip() == f"<b>{result_name}:DEFAULT</b><b>{result_name}:X</b>"
    assert "Legacy running on Python 2.7" in _log(out)


def test_python2_plugin_runs_through_the_pipeline_levels(app, served, legacy_cache, tmp_path):
    link_env(app.settings.data_path, legacy_cache)
    register_plugin(app.store, write_legacy(tmp_path / "plugins"), version="2.0.1",
                    runlevels=["pre", "default", "post", "last"])
    sched = scheduler_for(app, web_root=served)
    [out] = sched.launch(RESULT, ["Legacy"], run_mode="pipeline")
    assert sched.run_until_idle(180)
    jobs = job_rows(app.store, out["pluginresult"])
    assert [(j["level"], j["state"]) for j in jobs] == [("pre", "Completed"), ("default", "Completed"),
                                                         ("post", "Completed"), ("last", "Completed")], \
        _log(out)[-3000:]
    post = json.loads(Path(out["results_dir"], "post", "results.json").read_text())
    assert post["level"] == "post" and post["python"] == [2, 7]
    store = json.loads(app.store.db.execute_sql('SELECT store FROM "pluginresult" WHERE id = ?',
                                                (out["pluginresult"],)).fetchone()[0])
    assert store["level"] == "last"


@pytest.mark.parametrize("variant", ["module", "helper"])
def test_without_the_environment_a_python2_plugin_fails_with_one_clear_line(app, tmp_path, variant):
    # "helper": the main module is valid Python 3 (as in most real plugins) but a script it spawns is not.
    main = LEGACY_PLUGIN if variant == "module" else textwrap.dedent('''\
        import subprocess, sys
        from ion.plugin import *

        class Legacy(IonPlugin):
            version = "2.0.1"
            def launch(self, data=None):
                subprocess.check_call([sys.executable, "helper.py"])
                return True

        if __name__ == "__main__":
            PluginCLI()
        ''')
    register_plugin(app.store, write_legacy(tmp_path / "plugins", main=main), version="2.0.1")
    sched = scheduler_for(app)
    [out] = sched.launch(RESULT, ["Legacy"])
    assert sched.run_until_idle(30)
    [job] = job_rows(app.store, out["pluginresult"])
    where = "Legacy.py line 20" if variant == "module" else "helper.py line 2"
    expected = (f"Legacy needs Python 2.7 ({where} is not Python 3), and this server has no Python 2.7 plugin "
                "environment: enable Python 2 plugins with `torrentlite plugin-env build`")
    assert job["state"] == "Error" and job["reason"].startswith(expected)
    lines = [line for line in _log(out).splitlines() if "Python 2.7" in line]
    assert len(lines) == 1 and lines[0].startswith("ERROR: " + expected)
    assert "SyntaxError" not in _log(out)


def test_the_reason_is_in_the_api(app, client, tmp_path):
    register_plugin(app.store, write_legacy(tmp_path / "plugins"), version="2.0.1")
    sched = scheduler_for(app)
    [out] = sched.launch(RESULT, ["Legacy"])
    assert sched.run_until_idle(30)
    [job] = client.get("/rundb/api/v1/PluginResultJob/").json()["objects"]
    assert job["state"] == "Error" and "torrentlite plugin-env build" in job["reason"]


def test_python3_plugins_have_requests_and_simplejson(app, tmp_path):
    from runplugins import add_plugin
    add_plugin(app.store, tmp_path / "plugins", tmp_path / "events", "Modern", """
        import requests, simplejson
        json.dump({"requests": requests.__name__, "simplejson": simplejson.dumps([1])}, open("results.json", "w"))
    """)
    sched = scheduler_for(app)
    [out] = sched.launch(RESULT, ["Modern"])
    assert sched.run_until_idle(30)
    assert job_rows(app.store, out["pluginresult"])[0]["state"] == "Completed", _log(out)[-2000:]
    assert json.loads(Path(out["results_dir"], "results.json").read_text()) == \
        {"requests": "requests", "simplejson": "[1]"}


def test_python2_custom_validation_runs_in_the_legacy_environment(app, legacy_cache, tmp_path):
    link_env(app.settings.data_path, legacy_cache)
    main = LEGACY_PLUGIN.replace('''    def launch(self, data=None):''', '''    def custom_validation(self, config, run_mode):
        if "panel" not in config:
            return [u"panel is required (checked by Python %d)" % sys.version_info[0]]
        return []

    def launch(self, data=None):''', 1)
    register_plugin(app.store, write_legacy(tmp_path / "plugins", main=main), version="2.0.1")
    sched = scheduler_for(app)
    [out] = sched.launch(RESULT, ["Legacy"], pluginconfig={"other": 1})
    assert sched.run_until_idle(60)
    stored = app.store.db.execute_sql('SELECT validation_errors FROM "pluginresult" WHERE id = ?',
                                      (out["pluginresult"],)).fetchone()[0]
    assert json.loads(stored)["validation_errors"] == ["panel is required (checked by Python 2)"]
    assert not Path(out["results_dir"], "results.json").exists()


def _cli(*args):
    import subprocess
    import sys
    from conftest import REPO
    env = {"PATH": "/usr/bin:/bin", "HOME": str(REPO), "PYTHONPATH": str(REPO)}
    return subprocess.run([sys.executable, "-m", "torrentlite", "plugin-env", *args], capture_output=True,
                          text=True, env=env, timeout=120)


def test_plugin_env_command_reports_and_refuses_clearly(app, tmp_path):
    data = str(app.settings.data_path)
    status = _cli("status", "--data-dir", data)
    assert status.returncode == 1 and "no Python 2.7 plugin environment" in status.stdout
    assert "torrentlite plugin-env build" in status.stdout
    bad = _cli("build", "--data-dir", data, "--python2", str(tmp_path / "nope"))
    assert bad.returncode == 1 and "is not a working Python 2.7" in bad.stderr and "Traceback" not in bad.stderr
    missing = _cli("status", "--data-dir", str(tmp_path / "not-a-data-dir"))
    assert missing.returncode == 2 and "not a torrentlite data directory" in missing.stderr


def test_plugin_env_status_describes_a_built_environment(app, legacy_cache):
    link_env(app.settings.data_path, legacy_cache)
    status = _cli("status", "--data-dir", str(app.settings.data_path))
    assert status.returncode == 0, status.stderr
    described = json.loads(status.stdout)
    assert described["python_version"] == "2.7" and "Django==1.6.11" in described["packages"]
