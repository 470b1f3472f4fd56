"""Values real plugins read, as the real server gives them: the genome FASTA, platform, output file stem."""
from __future__ import annotations

import json
from pathlib import Path

from runplugins import add_plugin, job_rows, scheduler_for

RESULT = 1

DUMP = """
    import os
    sp = json.load(open("startplugin.json"))
    keep = ("TSP_FILEPATH_GENOME_FASTA", "TSP_URLPATH_GENOME_FASTA", "TSP_LIBRARY")
    json.dump({"env": {k: os.environ.get(k) for k in keep}, "platform": sp["runinfo"]["platform"],
               "stem": sp["expmeta"]["output_file_name_stem"], "library": sp["runinfo"]["library"],
               "tmap": sp["runinfo"]["tmap_version"]}, open("seen.json", "w"))
"""


def _run(app, tmp_path) -> dict:
    add_plugin(app.store, tmp_path / "plugins", tmp_path / "events", "Dump", DUMP)
    sched = scheduler_for(app)
    [out] = sched.launch(RESULT, ["Dump"])
    assert sched.run_until_idle(30)
    assert job_rows(app.store, out["pluginresult"])[0]["state"] == "Completed"
    return json.loads(Path(out["results_dir"], "seen.json").read_text())


def _report(app) -> dict:
    row = app.store.db.execute_sql(
        'SELECT e.platform, p."planName", r."resultsName" FROM "results" r JOIN "experiment" e '
        'ON e.id = r.experiment_id LEFT JOIN "plannedexperiment" p ON p.id = e.plan_id WHERE r.id = ?',
        (RESULT,)).fetchone()
    return dict(zip(("platform", "plan", "results_name"), row))


def test_genome_fasta_is_found_in_the_reference_library(app, tmp_path):
    library = _run(app, tmp_path)["library"]
    assert library and library != "none"
    folder = app.settings.data_path / "referenceLibrary" / "tmap-f3" / library  # the demo's genome
    assert (folder / f"{library}.fasta").is_file()
    seen = _run(app, tmp_path / "again")
    assert seen["env"] == {"TSP_FILEPATH_GENOME_FASTA": str(folder / f"{library}.fasta"),
                           "TSP_URLPATH_GENOME_FASTA": f"/output/tmap-f3/{library}/{library}.fasta",
                           "TSP_LIBRARY": library}


def test_genome_fasta_is_empty_without_the_file(app, tmp_path):
    library = _run(app, tmp_path / "first")["library"]
    fasta = app.settings.data_path / "referenceLibrary" / "tmap-f3" / library / f"{library}.fasta"
    fasta.unlink()
    seen = _run(app, tmp_path)
    assert seen["env"]["TSP_FILEPATH_GENOME_FASTA"] == "" and seen["env"]["TSP_URLPATH_GENOME_FASTA"] == ""


def test_platform_is_lower_case_and_stem_keeps_the_plan_name(app, tmp_path):
    with app.store.write():
        app.store.db.execute_sql('UPDATE "globalconfig" SET site_name = ?', ("Torrent Server",))
    report = _report(app)
    seen = _run(app, tmp_path)
    assert report["platform"] and seen["platform"] == report["platform"].lower()
    assert seen["platform"] in ("pgm", "s5", "proton")
    prefix = "Auto_" if report["results_name"].startswith("Auto_") else ""
    assert seen["stem"] == f"{prefix}{report['plan'][:80]}_torrent-server_{RESULT}"


def test_site_name_is_slugified_as_django_does():
    from torrentlite.runner.startplugin import site_slug
    assert site_slug("Torrent Server") == "torrent-server"
    assert site_slug("  Lab #2 -- Ünïcode_Site ") == "lab-2-unicode_site"
