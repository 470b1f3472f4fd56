"""Job files from a kept rendering are byte for byte what rendering each job gives."""
import os
from pathlib import Path

import pytest

from torrentlite.runner import jobtexts
from torrentlite.runner.jobtexts import KEEP_SECONDS, JobTexts, JobValues
from torrentlite.runner.launchscript import launch_script_text, script_path, startplugin_text


def _doc(v: JobValues, extra: dict) -> dict:
    main = v.results_dir.rsplit("/post", 1)[0]
    return {"runinfo": {"results_dir": v.results_dir, "pluginresult": v.pluginresult, "api_key": v.api_key,
                        "plugin": {"name": "Echo", "results_dir": main, "pluginresult": v.pluginresult},
                        "library": "hg19", "tmap_version": "tmap-f3", "url_root": "/output/Home/R_1"},
            "expmeta": {"run_name": "R", "results_name": "R_1", "run_flows": 400, "notes": "a \"quoted\" note"},
            "pluginconfig": extra, "sampleinfo": {"x": 1}}


@pytest.fixture
def setting(tmp_path):
    plugin = tmp_path / "plugins" / "Echo"
    plugin.mkdir(parents=True)
    report = tmp_path / "results" / "R_1"
    (report / "plugin_out").mkdir(parents=True)
    script = dict(plugin_name="Echo", plugin_dir=plugin, entry="bash", launch_sh_text="#!/bin/bash\necho hi\n",
                  reference_root=tmp_path / "referenceLibrary", scratch_dir=tmp_path / "scratch")
    return report, script


def _job(report: Path, pk: int, key: str = None, sub: str = "") -> JobValues:
    folder = f"Echo_out.{pk}"
    results = os.path.join(str(report), "plugin_out", folder, *([sub] if sub else []))
    os.makedirs(results, exist_ok=True)
    return JobValues(results, folder, pk, key if key is not None else f"{pk:040x}")


def _expected(values: JobValues, script: dict, extra: dict):
    doc = _doc(values, extra)
    return (startplugin_text(doc),
            launch_script_text(results_dir=Path(values.results_dir), startplugin=doc, **script))


def _written(values: JobValues, script: dict):
    return ((Path(values.results_dir) / "startplugin.json").read_text(),
            script_path(Path(values.results_dir), script["plugin_name"]).read_text())


def _counting(monkeypatch):
    calls = []
    real = jobtexts.launch_script_text

    def counted(**kwargs):
        calls.append(kwargs["results_dir"])
        return real(**kwargs)
    monkeypatch.setattr(jobtexts, "launch_script_text", counted)
    return calls


@pytest.mark.parametrize("sub", ["", "post"])
def test_jobs_like_the_first_get_its_rendering_with_their_own_values(setting, monkeypatch, sub):
    report, script = setting
    calls = _counting(monkeypatch)
    texts = JobTexts(clock=lambda: 100.0)
    extra = {"threshold": 5}
    for pk in (7, 8, 1234, 9):
        values = _job(report, pk, sub=sub)
        path = texts.write(values, lambda v: _doc(v, extra), script)
        assert path == script_path(Path(values.results_dir), "Echo") and os.access(path, os.X_OK)
        assert _written(values, script) == _expected(values, script, extra)
        assert f"Echo_out.{pk}" in _written(values, script)[1]
    # The first job is rendered twice (marked and real); the three after it reuse the marked rendering.
    assert len(calls) == 2


def test_a_different_document_is_rendered_afresh(setting, monkeypatch):
    report, script = setting
    calls = _counting(monkeypatch)
    texts = JobTexts(clock=lambda: 100.0)
    for pk, extra in ((1, {"a": 1}), (2, {"a": True}), (3, {"a": 1}), (4, {"a": True})):
        values = _job(report, pk)
        texts.write(values, lambda v, e=extra: _doc(v, e), script)
        assert _written(values, script) == _expected(values, script, extra)
    # 1 and True are equal in Python but print differently: two renderings, each made once.
    assert len(calls) == 4


@pytest.mark.parametrize("key", ["", "has space", "quote'd", "k\u00e9y", "with\"dq", "sampleinfo"])
def test_values_that_rendering_would_change_are_rendered_each_time(setting, key):
    report, script = setting
    texts = JobTexts(clock=lambda: 100.0)
    # After a plain job whose rendering is kept (as the first job, the check of the rendering refuses it).
    for pk, this_key in ((1, "plain"), (2, key), (3, "plain3"), (4, key + "4" if key else "")):
        values = _job(report, pk, key=this_key)
        texts.write(values, lambda v: _doc(v, {}), script)
        assert _written(values, script) == _expected(values, script, {})


def test_a_rendering_that_does_not_give_the_real_one_is_not_kept(setting, monkeypatch):
    report, script = setting
    calls = _counting(monkeypatch)
    texts = JobTexts(clock=lambda: 100.0)

    def doc(v):
        # A value computed from the key: the marked key has another length than the real one.
        return {**_doc(v, {}), "derived": {"key_length": len(v.api_key)}}
    for pk in (1, 2, 3):
        values = _job(report, pk)
        texts.write(values, doc, script)
        assert (Path(values.results_dir) / "startplugin.json").read_text() == startplugin_text(doc(values))
    assert len(calls) == 2 + 1 + 1


def test_a_symlinked_job_folder_is_rendered_each_time(setting, tmp_path, monkeypatch):
    report, script = setting
    calls = _counting(monkeypatch)
    texts = JobTexts(clock=lambda: 100.0)
    for pk in (1, 2, 3):
        elsewhere = tmp_path / f"elsewhere{pk}"
        elsewhere.mkdir()
        (report / "plugin_out" / f"Echo_out.{pk}").symlink_to(elsewhere)
        values = JobValues(str(report / "plugin_out" / f"Echo_out.{pk}"), f"Echo_out.{pk}", pk, "k" * 40)
        assert texts.write(values, lambda v: _doc(v, {}), script) == elsewhere / "ion_plugin_Echo_launch.sh"
        assert _written(values, script) == _expected(values, script, {})
    assert len(calls) == 3


def test_what_is_found_on_disk_is_looked_up_again_after_a_second(setting, tmp_path):
    report, script = setting
    now = [100.0]
    texts = JobTexts(clock=lambda: now[0])
    texts.write(_job(report, 1), lambda v: _doc(v, {}), script)
    fasta = tmp_path / "referenceLibrary" / "tmap-f3" / "hg19" / "hg19.fasta"
    fasta.parent.mkdir(parents=True)
    fasta.write_text(">chr1\nACGT\n")
    values = _job(report, 2)
    texts.write(values, lambda v: _doc(v, {}), script)
    assert f"TSP_FILEPATH_GENOME_FASTA={fasta}" not in _written(values, script)[1]
    now[0] += KEEP_SECONDS + 0.01
    values = _job(report, 3)
    texts.write(values, lambda v: _doc(v, {}), script)
    assert f"export TSP_FILEPATH_GENOME_FASTA={fasta}\n" in _written(values, script)[1]
    assert _written(values, script) == _expected(values, script, {})
