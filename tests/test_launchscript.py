"""The launch script: startplugin.json flattening, derived variables, and real runs of Python and bash plugins."""
import datetime
import json
import os
import stat
import sys
import time
from pathlib import Path

import pytest

import torrentlite
from torrentlite.runner.executor import InlineExecutor, JobSpec, Limits
from torrentlite.runner.launchscript import (derived_env, flatten_env, launch_args, render_launch_script,
                                             write_startplugin)
from torrentlite.runner.states import JobState

REAL_PLUGINLIB = Path(torrentlite.__file__).parent / "pluginlib"

SAMPLE = {
    "runinfo": {
        "results_dir": "/data/report/plugin_out/Tiny_out.7",
        "api_key": "abc123",
        "pk": 5,
        "plugin": {"name": "Tiny", "runtypes": ["wholechip", "thumbnail"],
                   "pluginconfig": {"ram": "4G"}},
    },
    "expmeta": {"run_name": "R_2024_run", "flowOrder": "TACG", "results_name": "Auto_R_1"},
    "pluginconfig": {"ram": "4G", "my-key.x": 1, "flag": True, "nothing": None, "list": [1, "a"],
                     "empty": {}, "quoted": 'say "hi"', "brackets": "x[]y"},
    "plan": {"runType": "GENS", "barcodedSamples": {"s1": {"barcodes": ["IonXpress_001"]}}},
    "sampleinfo": {"s1": {"name": "s1"}},
    "datamanagement": {"Basecalling Input": True, "Output Files": False},
    "globalconfig": {"debug": 0, "MEM_MAX": "15G"},
    "depends": {"dep": {"pluginresult_path": "/data/dep_out.3"}},
    "chefSummary": {},
    "runplugin": {"runlevel": "default", "run-mode": "manual"},
}


def test_flatten_env_names_and_values():
    env = flatten_env(SAMPLE)
    expected = {
        "RUNINFO__RESULTS_DIR": "/data/report/plugin_out/Tiny_out.7",
        "RUNINFO__API_KEY": "abc123",
        "RUNINFO__PK": "5",
        "RUNINFO__PLUGIN__NAME": "Tiny",
        "RUNINFO__PLUGIN__RUNTYPES__0": "wholechip",
        "RUNINFO__PLUGIN__RUNTYPES__1": "thumbnail",
        "RUNINFO__PLUGIN__PLUGINCONFIG__RAM": "4G",
        "EXPMETA__RUN_NAME": "R_2024_run",
        "EXPMETA__FLOWORDER": "TACG",
        "EXPMETA__RESULTS_NAME": "Auto_R_1",
        "PLUGINCONFIG__RAM": "4G",
        "PLUGINCONFIG__MY_KEY_X": "1",
        "PLUGINCONFIG__FLAG": "true",
        "PLUGINCONFIG__NOTHING": "null",
        "PLUGINCONFIG__LIST__0": "1",
        "PLUGINCONFIG__LIST__1": "a",
        "PLUGINCONFIG__QUOTED": "say \\hi\\",  # \" loses its quote and keeps the backslash
        "PLAN__RUNTYPE": "GENS",
        "DATAMANAGEMENT__BASECALLING": "true",
        "DATAMANAGEMENT__OUTPUT": "false",
        "GLOBALCONFIG__DEBUG": "0",
        "GLOBALCONFIG__MEM_MAX": "15G",
        "DEPENDS__DEP__PLUGINRESULT_PATH": "/data/dep_out.3",
        "RUNPLUGIN__RUNLEVEL": "default",
        "RUNPLUGIN__RUN_MODE": "manual",
    }
    assert env == expected  # containers, barcodedSamples, sampleinfo and "[]" values are all skipped


def test_flatten_env_skips_names_bash_would_reject():
    env = flatten_env({"pluginconfig": {"a b": 1, "ok": 2, "semi;colon": 3, "ünï": 4}, "path": "/evil"})
    assert env == {"PLUGINCONFIG__A": "1", "PLUGINCONFIG__OK": "2"}


def test_derived_variables(tmp_path):
    analysis = tmp_path / "report"
    (analysis / "sigproc_results").mkdir(parents=True)
    (analysis / "sigproc_results" / "processParameters.txt").write_text("runId = ABCDE\nflowOrder = TACG\n")
    refs = tmp_path / "referenceLibrary"
    (refs / "tmap-f3" / "hg19").mkdir(parents=True)
    (refs / "tmap-f3" / "hg19" / "hg19.fasta").write_text(">chr1\nACGT\n")
    results = analysis / "plugin_out" / "Tiny_out.7"
    flat = flatten_env({
        "runinfo": {"analysis_dir": str(analysis), "results_dir": str(results), "url_root": "/output/Home/R1",
                    "library": "hg19", "library_key": "TCAG"},
        "expmeta": {"run_name": "R1", "results_name": "A1", "run_flows": 400},
    })
    env = derived_env(flat, plugin_name="Tiny", plugin_dir=tmp_path / "plugins" / "Tiny", results_dir=results,
                      reference_root=refs)
    assert env["ANALYSIS_DIR"] == env["REPORT_ROOT_DIR"] == str(analysis)
    assert env["RESULTS_DIR"] == env["TSP_FILEPATH_PLUGIN_DIR"] == str(results)
    assert env["SIGPROC_DIR"] == str(analysis / "sigproc_results") + "/"
    assert env["BASECALLER_DIR"] == str(analysis)  # missing folder falls back to the report
    assert env["TSP_RUNID"] == "ABCDE"  # from processParameters.txt
    assert env["TSP_NUM_FLOWS"] == "400"
    assert env["TSP_FILEPATH_OUTPUT_STEM"] == "R1_A1"
    assert env["TSP_URLPATH_PLUGIN_DIR"] == "/output/Home/R1/plugin_out/Tiny_out.7"
    assert env["TSP_URLPATH_BAM"] == "/output/Home/R1/download_links/R1_A1.bam"
    assert env["TSP_FILEPATH_GENOME_FASTA"] == str(refs / "tmap-f3" / "hg19" / "hg19.fasta")
    assert env["TSP_URLPATH_GENOME_FASTA"] == "/output/tmap-f3/hg19/hg19.fasta"
    assert env["TSP_PLUGIN_SCRATCH"] == str(tmp_path / "plugins" / "scratch")
    assert env["DIRNAME"] == env["PLUGIN_PATH"] == str(tmp_path / "plugins" / "Tiny")


def test_write_startplugin(tmp_path):
    path = write_startplugin(tmp_path, {"command": ["x"], "expmeta": {
        "run_date": datetime.datetime(2024, 3, 1, 12, 30, 5)}})
    text = path.read_text()
    assert json.loads(text) == {"expmeta": {"run_date": "2024-03-01T12:30:05Z"}}
    assert text.startswith('{\n  "expmeta"')


TINY_PLUGIN = '''\
#!/usr/bin/env python3
import json
import os
from ion.plugin import *


class Tiny(IonPlugin):
    """A plugin that reports what it sees."""
    version = "1.0.0"

    def launch(self, data=None):
        with open("seen_env.json", "w") as fh:
            json.dump(dict(os.environ), fh)
        with open("made_by_plugin.txt", "w") as fh:
            fh.write("created under the wrapper's umask")
        return True


if __name__ == "__main__":
    PluginCLI()
'''

STUB_ION = '''\
import sys


class IonPlugin(object):
    version = "0"

    def launch(self, data=None):
        return True


def PluginCLI(plugin=None):
    main = sys.modules["__main__"]
    cls = [v for v in vars(main).values() if isinstance(v, type) and issubclass(v, IonPlugin) and v is not IonPlugin][0]
    cls().launch()


__all__ = ["IonPlugin", "PluginCLI"]
'''


@pytest.fixture
def pluginlib(tmp_path):
    """The real ion.plugin package when present, else a minimal stand-in on a temp path."""
    if (REAL_PLUGINLIB / "ion" / "plugin" / "__init__.py").exists():
        return REAL_PLUGINLIB
    stub = tmp_path / "pluginlib"
    (stub / "ion" / "plugin").mkdir(parents=True)
    (stub / "ion" / "__init__.py").write_text("")
    (stub / "ion" / "plugin" / "__init__.py").write_text(STUB_ION)
    return stub


def setup_run(tmp_path, name, pluginconfig=None):
    plugin_dir = tmp_path / "plugins" / name
    plugin_dir.mkdir(parents=True)
    analysis = tmp_path / "results" / "Auto_R1_7"
    results = analysis / "plugin_out" / f"{name}_out.3"
    results.mkdir(parents=True)
    startplugin = {
        "runinfo": {"results_dir": str(results), "analysis_dir": str(analysis), "raw_data_dir": str(analysis),
                    "url_root": "/output/Home/Auto_R1_7", "pk": 7, "api_key": "k",
                    "plugin": {"name": name, "runtypes": ["wholechip"]}},
        "expmeta": {"run_name": "R1", "results_name": "Auto_R1"},
        "pluginconfig": dict(pluginconfig or {"ram": "4G"}),
        "globalconfig": {"debug": 0, "MEM_MAX": "15G"},
    }
    write_startplugin(results, startplugin)
    return plugin_dir, results, startplugin


_ids = iter(range(int(time.time()) % 10**6 * 10, 10**9))


def run(script, results, name):
    job = JobSpec(job_id=next(_ids), name=name, script=script, args=launch_args(results), workdir=results,
                  limits=Limits(wall_seconds=60, nice=0))
    ex = InlineExecutor()
    status = ex.poll(ex.submit(job))
    return status, job.log_path.read_text(errors="replace")


def test_python_plugin_sees_the_wrapper_environment(tmp_path, pluginlib):
    plugin_dir, results, startplugin = setup_run(tmp_path, "Tiny")
    (plugin_dir / "Tiny.py").write_text(TINY_PLUGIN)
    script = render_launch_script(plugin_name="Tiny", plugin_dir=plugin_dir, results_dir=results,
                                  startplugin=startplugin, entry="python3", pluginlib_dir=pluginlib,
                                  python=sys.executable)
    assert script == results / "ion_plugin_Tiny_launch.sh"
    assert stat.S_IMODE(script.stat().st_mode) == 0o775

    status, log = run(script, results, "Tiny")
    assert status.state is JobState.COMPLETED, log
    env = json.loads((results / "seen_env.json").read_text())
    assert env["RESULTS_DIR"] == env["TSP_FILEPATH_PLUGIN_DIR"] == str(results.resolve())
    assert env["ANALYSIS_DIR"] == str(tmp_path / "results" / "Auto_R1_7")
    assert env["DIRNAME"] == str(plugin_dir.resolve())
    assert env["PLUGINNAME"] == env["PROGRAM"] == "Tiny"
    assert env["PLUGINCONFIG__RAM"] == "4G"
    assert env["RUNINFO__PLUGIN__NAME"] == "Tiny"
    assert env["RUNINFO__PLUGIN__RUNTYPES__0"] == "wholechip"
    assert env["TSP_FILEPATH_OUTPUT_STEM"] == "R1_Auto_R1"
    assert str(Path(pluginlib).resolve()) in env["PYTHONPATH"].split(":")
    assert stat.S_IMODE((results / "made_by_plugin.txt").stat().st_mode) == 0o666  # umask 0000
    assert "start time=" in log and "end time=" in log
    assert "pluginelapsedtime: Tiny," in log
    assert "Plugin: Tiny - 0" in log


LEGACY = '''\
#!/bin/bash
#$ -l mem_free=2G
VERSION="2.1.0"
# a legacy plugin: everything arrives through the environment
test_for_file "$TSP_FILEPATH_PLUGIN_DIR/startplugin.json"
echo "legacy version $VERSION ram $PLUGINCONFIG__RAM in $PWD" > legacy.txt
echo "results $RESULTS_DIR report $REPORT_ROOT_DIR" >> legacy.txt
'''


def test_legacy_launch_sh_plugin(tmp_path):
    plugin_dir, results, startplugin = setup_run(tmp_path, "Legacy")
    (plugin_dir / "launch.sh").write_text(LEGACY)
    script = render_launch_script(plugin_name="Legacy", plugin_dir=plugin_dir, results_dir=results,
                                  startplugin=startplugin, entry="bash", launch_sh_text=LEGACY,
                                  pluginlib_dir=REAL_PLUGINLIB)
    text = script.read_text()
    assert text.startswith("#!/bin/bash\n")
    assert text.count("#!/bin/bash") == 1
    assert "#$ -l mem_free=2G" in text.split("VERSION=")[0]  # #$ lines belong to the header

    status, log = run(script, results, "Legacy")
    assert status.state is JobState.COMPLETED, log
    lines = (results / "legacy.txt").read_text().splitlines()
    assert lines[0] == f"legacy version 2.1.0 ram 4G in {results.resolve()}"
    assert lines[1] == f"results {results.resolve()} report {tmp_path / 'results' / 'Auto_R1_7'}"
    assert "Plugin: Legacy - 2.1.0" in log


def test_a_failing_legacy_command_is_an_error(tmp_path):
    plugin_dir, results, startplugin = setup_run(tmp_path, "Fails")
    body = "false\necho not reached > reached.txt\n"
    script = render_launch_script(plugin_name="Fails", plugin_dir=plugin_dir, results_dir=results,
                                  startplugin=startplugin, entry="bash", launch_sh_text=body)
    status, log = run(script, results, "Fails")
    assert (status.state, status.exit_code) == (JobState.ERROR, 1)
    assert not (results / "reached.txt").exists()  # errexit, as in the real wrapper
    assert "Plugin Execution Error" in log


HOSTILE = "$(touch pwned1)`touch pwned2`'; touch pwned3; '\"; touch pwned4; \"\nline2 $HOME \\"


def test_config_values_cannot_break_out_of_quoting(tmp_path):
    plugin_dir, results, startplugin = setup_run(tmp_path, "Quoting", {"evil": HOSTILE, "ram": "1G"})
    startplugin["expmeta"]["notes"] = HOSTILE
    body = 'printf "%s" "$PLUGINCONFIG__EVIL" > evil.txt\nprintf "%s" "$TSP_NOTES" > notes.txt\n'
    script = render_launch_script(plugin_name="Quoting", plugin_dir=plugin_dir, results_dir=results,
                                  startplugin=startplugin, entry="bash", launch_sh_text=body)
    status, log = run(script, results, "Quoting")
    assert status.state is JobState.COMPLETED, log
    for folder in (results, tmp_path, Path.cwd()):
        assert not list(folder.glob("pwned*"))
    expected = flatten_env({"v": HOSTILE})["V"]
    assert (results / "evil.txt").read_text() == expected
    assert (results / "notes.txt").read_text() == expected
    assert "$(touch pwned1)" in expected


def test_plugin_name_is_validated(tmp_path):
    with pytest.raises(ValueError):
        render_launch_script(plugin_name="x; rm -rf y", plugin_dir=tmp_path, results_dir=tmp_path,
                             startplugin={}, entry="python3")


def test_python2_plugin_fails_with_a_clear_message(tmp_path):
    plugin_dir, results, startplugin = setup_run(tmp_path, "OldOne")
    (plugin_dir / "OldOne.py").write_text("print 'hello'\n")
    with pytest.raises(ValueError):
        render_launch_script(plugin_name="OldOne", plugin_dir=plugin_dir, results_dir=results,
                             startplugin=startplugin, entry="python2", pluginlib_dir=REAL_PLUGINLIB)
    script = render_launch_script(plugin_name="OldOne", plugin_dir=plugin_dir, results_dir=results,
                                  startplugin=startplugin, entry="python2", pluginlib_dir=REAL_PLUGINLIB,
                                  python2_missing="OldOne needs Python 2.7 (see how to enable it)")
    status, log = run(script, results, "OldOne")
    assert status.state is JobState.ERROR
    assert status.exit_code not in (0, None)
    assert "ERROR: OldOne needs Python 2.7 (see how to enable it)" in log.splitlines()


def test_debug_config_traces_the_plugin_command(tmp_path):
    plugin_dir, results, startplugin = setup_run(tmp_path, "Dbg", {"debug": "1"})
    script = render_launch_script(plugin_name="Dbg", plugin_dir=plugin_dir, results_dir=results,
                                  startplugin=startplugin, entry="bash", launch_sh_text="echo traced-line\n")
    status, log = run(script, results, "Dbg")
    assert status.state is JobState.COMPLETED
    assert "+ echo traced-line" in log


def test_script_needs_no_network_tools(tmp_path):
    plugin_dir, results, startplugin = setup_run(tmp_path, "Quiet")
    script = render_launch_script(plugin_name="Quiet", plugin_dir=plugin_dir, results_dir=results,
                                  startplugin=startplugin, entry="bash", launch_sh_text="true\n")
    text = script.read_text()
    assert "ion-plugin-status" not in text and "curl" not in text and "wget" not in text
    assert os.access(script, os.X_OK)
