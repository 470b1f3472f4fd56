"""Data-management categories: pattern selection, state rows per report, sizes, composite resource."""
from __future__ import annotations

import os

from dm_helpers import RAW_FILES, REPORT_FILES, categories, populate

from torrentlite.datamgmt import state
from torrentlite.datamgmt.filesets import BASE, INTR, OUT, SIG, TYPES, SEEDS

API = "/rundb/api/v1/"


def _selected(app, result_id):
    db = app.store.db
    report = state.load_report(db, result_id)
    stats = state.filestats(db, result_id)
    out = {}
    for type_, stat in stats.items():
        sel = state.selection(stats, stat, report)
        out[type_] = {os.path.relpath(os.path.join(start, rel), start) if start == report.report_dir
                      else "raw:" + rel for start, rel in sel.items()}
    return out


def test_seeded_categories_have_the_real_defaults(app):
    rows = app.store.db.execute_sql('SELECT "type", "auto_trigger_age", "auto_trigger_usage", "auto_action", '
                                    '"del_empty_dir" FROM "dmfileset" WHERE "current" = 1').fetchall()
    assert sorted(rows) == sorted([(SIG, 21, 90, "OFF", 1), (BASE, 60, 90, "OFF", 1), (OUT, 180, 90, "OFF", 1),
                                   (INTR, 7, 20, "OFF", 1)])
    counts = {s.type: (len(s.include), len(s.exclude)) for s in SEEDS}
    assert counts == {SIG: (25, 3), BASE: (27, 0), OUT: (43, 4), INTR: (13, 96)}


def test_each_file_lands_in_the_category_the_patterns_give(app):
    populate(app, 1)
    selected = _selected(app, 1)
    for rel, category in REPORT_FILES.items():
        holders = {t for t, files in selected.items() if rel in files}
        assert holders == categories(category), rel
    for rel, category in RAW_FILES.items():
        holders = {t for t, files in selected.items() if "raw:" + rel in files}
        assert holders == categories(category), rel


def test_every_report_has_one_row_per_category_and_new_reports_get_them(app, client):
    count = app.store.db.execute_sql('SELECT COUNT(*) FROM "dmfilestat"').fetchone()[0]
    reports = app.store.db.execute_sql('SELECT COUNT(*) FROM "results"').fetchone()[0]
    assert count == 4 * reports
    body = client.get(f"{API}results/1/").json()
    for key in ("id", "resource_uri", "pluginresults", "projects", "libmetrics", "tfmetrics", "analysismetrics",
                "qualitymetrics", "pluginState", "pluginStore", "filesystempath", "bamLink", "planShortID"):
        body.pop(key, None)
    body.update(resultsName="second_analysis", runid="X1", reportLink="/output/Home/second/")
    response = client.post(f"{API}results/", json_body=body)
    assert response.status == 201, response.body
    pk = int(response.headers["Location"].rstrip("/").rsplit("/", 1)[1])
    obj = client.get(f"{API}compositedatamanagement/{pk}/").json()
    assert [obj[f"{p}_state"] for p in ("sigproc", "basecall", "output", "misc")] == ["Local"] * 4


def test_composite_shows_states_keep_and_sizes_measured_from_the_files(app, client):
    populate(app, 1, size=1024 * 1024)
    state.measure(app.store, 1)
    obj = client.get(f"{API}compositedatamanagement/1/").json()
    per = {t: sum(1 for c in list(REPORT_FILES.values()) + list(RAW_FILES.values()) if t in categories(c))
           for t in TYPES}
    # Each generated file is 1 MiB; the demo's own small files add less than one more.
    assert int(obj["sigproc_diskspace"]) == per[SIG] and int(obj["basecall_diskspace"]) == per[BASE]
    assert int(obj["output_diskspace"]) == per[OUT] and int(obj["misc_diskspace"]) == per[INTR]
    assert obj["sigproc_keep"] is False and obj["in_process"] is False
    results = client.get(f"{API}results/1/").json()
    assert results["diskusage"] == sum(int(obj[f"{p}_diskspace"]) for p in ("basecall", "output", "misc"))


def _started_job_on_report_1(app, tmp_path) -> int:
    """A plugin result of report 1 with a Started job row; returns the plugin result's id."""
    from torrentlite.runner.manager import PluginManager

    plugin = tmp_path / "Sizer"
    plugin.mkdir()
    (plugin / "Sizer.py").write_text("from ion.plugin import IonPlugin\nclass Sizer(IonPlugin):\n"
                                     "    version = '1.0'\n    def launch(self):\n        return True\n")
    PluginManager(app.store, app.settings.plugins_path).install_dir(plugin)
    db = app.store.db
    with app.store.write():
        db.execute_sql('INSERT INTO "pluginresult" ("result_id", "owner_id", "plugin_id", "store", "apikey", "size", '
                       '"inodes") VALUES (1, (SELECT MIN(id) FROM "user"), (SELECT MIN(id) FROM "plugin"), '
                       '\'{}\', \'k\', 0, 0)')
        pr = db.execute_sql("SELECT MAX(id) FROM pluginresult").fetchone()[0]
        db.execute_sql('INSERT INTO "PluginResultJob" ("plugin_result_id", "state", "grid_engine_jobid", '
                       '"run_level", "config") VALUES (?, \'Started\', 0, \'default\', \'{}\')', (pr,))
    return pr


def test_plugin_job_end_marks_sizes_stale(app, tmp_path):
    pr = _started_job_on_report_1(app, tmp_path)
    db = app.store.db
    with app.store.write():
        db.execute_sql('UPDATE "dmfilestat" SET "stale" = 0')
        db.execute_sql('UPDATE "PluginResultJob" SET "state" = \'Completed\' WHERE "plugin_result_id" = ?', (pr,))
    assert state.stale_reports(db) == [1]


def test_a_report_with_running_plugin_jobs_is_measured_once_per_interval(app, tmp_path):
    from torrentlite.datamgmt.worker import DmWorker

    db = app.store.db
    now = [1000.0]
    worker = DmWorker(app.store, app.settings, busy_interval=60.0, clock=lambda: now[0])
    pr = _started_job_on_report_1(app, tmp_path)
    with app.store.write():
        db.execute_sql('UPDATE "dmfilestat" SET "stale" = 1 WHERE "result_id" = 1')
    worker.step()
    assert state.stale_reports(db) == []

    def output_size(result_id):
        return db.execute_sql('SELECT s."diskspace" FROM "dmfilestat" s JOIN "dmfileset" f ON f."id" = '
                              's."dmfileset_id" WHERE s."result_id" = ? AND f."type" = ?', (result_id, OUT)).fetchone()[0]

    measured = output_size(1)
    plugin_out = state.load_report(db, 1).report_dir + "/plugin_out/Grower_out.1"
    os.makedirs(plugin_out)
    with open(plugin_out + "/grown.bin", "wb") as out:
        out.write(b"x" * 3 * 1024 * 1024)
    with app.store.write():
        db.execute_sql('UPDATE "dmfilestat" SET "stale" = 1 WHERE "result_id" IN (1, 2)')
    now[0] += 59
    worker.step()
    # Report 1 still runs a job and was measured within the interval: it waits; report 2 does not.
    assert state.stale_reports(db) == [1] and output_size(1) == measured
    now[0] += 2
    worker.step()
    assert state.stale_reports(db) == [] and output_size(1) >= measured + 3
    with app.store.write():
        db.execute_sql('UPDATE "dmfilestat" SET "stale" = 1 WHERE "result_id" = 1')
    worker.step()
    assert state.stale_reports(db) == [1]
    # Its last job ends (which marks it stale): it is measured at the next step.
    os.remove(plugin_out + "/grown.bin")
    with app.store.write():
        db.execute_sql('UPDATE "PluginResultJob" SET "state" = \'Completed\' WHERE "plugin_result_id" = ?', (pr,))
    worker.step()
    assert state.stale_reports(db) == [] and output_size(1) == measured


def test_history_lists_report_log_lines_with_report_name(app, client):
    with app.store.write():
        state.log_event(app.store.db, 1, "Output Files marked exempt from auto-action", "ionadmin")
    body = client.get(f"{API}datamanagementhistory/", params={"order_by": "-id", "limit": 1}).json()
    line = body["objects"][0]
    assert line["text"] == "Output Files marked exempt from auto-action" and line["username"] == "ionadmin"
    assert line["resultsName"] == client.get(f"{API}results/1/").json()["resultsName"]


def test_state_filters_and_search_name(app, client):
    from torrentlite.datamgmt.filesets import OUT

    with app.store.write():
        report = state.load_report(app.store.db, 2)
        stat = state.filestats(app.store.db, 2)[OUT]
        state.set_state(app.store.db, stat, report, "AD", archivepath="/x")
        state.set_keep(app.store.db, state.load_report(app.store.db, 3),
                       state.filestats(app.store.db, 3)[OUT], True, "ionadmin")

    def ids(**params):
        return sorted(o["id"] for o in client.get(f"{API}compositedatamanagement/", params=params).json()["objects"])

    assert ids(output_filter="AD") == [2]
    assert ids(output_filter="L") == [1, 3]
    assert ids(output_filter="K") == [3] and ids(output_filter="K,AD") == []
    assert ids(output_filter="P") == [] and ids(sigproc_filter="L") == [1, 2, 3]
    name = client.get(f"{API}results/3/").json()["resultsName"]
    assert ids(search_name=name.upper()[-8:]) == [3]


def test_generated_full_chip_folder_with_onboard_results_and_a_linked_reanalysis(app, tmp_path):
    """A Proton-style run: on-instrument sigproc output under the raw folder, blocks, and a
    reanalysis whose sigproc_results links to its parent's."""
    from dm_helpers import write_tree

    from torrentlite.datamgmt.filesets import current_filesets
    from torrentlite.datamgmt.selection import ignores_onboard, select

    raw, report, child = tmp_path / "raw", tmp_path / "report", tmp_path / "child"
    blocks = [f"X{x}_Y{y}" for x in range(0, 4) for y in range(0, 4)]
    write_tree(raw, {f"{b}/acq_{i:04d}.dat": None for b in blocks for i in range(3)}, 10)
    write_tree(raw, {f"onboard_results/sigproc_results/block_{b}/{n}": None for b in blocks
                     for n in ("1.wells", "analysis.bfmask.bin", "sigproc.log")}, 10)
    write_tree(report, {"basecaller_results/rawlib.basecaller.bam": None, "drmaa_stdout.txt": None,
                        f"block_{blocks[0]}/basecaller_results/x.bam": None}, 10)
    os.symlink(raw / "onboard_results" / "sigproc_results", report / "sigproc_results")
    child.mkdir()
    os.symlink(report / "sigproc_results", child / "sigproc_results")
    sets = current_filesets(app.store.db)
    dirs = [str(report), str(raw)]
    assert ignores_onboard(str(report), thumbnail=False) is False
    assert ignores_onboard(str(report), thumbnail=True) is True
    base = select(sets[BASE], dirs, ignore_onboard=False)
    assert len([r for r in base.dirs[str(raw)] if r.startswith("onboard_results")]) == 3 * len(blocks)
    sig = select(sets[SIG], dirs, ignore_onboard=False)
    assert len(sig.dirs[str(raw)]) == 3 * len(blocks)
    assert sorted(select(sets[OUT], dirs, ignore_onboard=False).dirs[str(report)]) == [
        "basecaller_results/rawlib.basecaller.bam", "drmaa_stdout.txt"]
    assert select(sets[INTR], dirs, ignore_onboard=False).dirs[str(report)] == [
        f"block_{blocks[0]}/basecaller_results/x.bam"]
    # A link into on-board output is not followed; a PGM reanalysis's link to its parent's
    # sigproc_results is, for sizes and archives, but never for deletes.
    assert select(sets[BASE], [str(child)], ignore_onboard=False).dirs[str(child)] == []
    parent, reanalysis = tmp_path / "pgm", tmp_path / "pgm_reanalysis"
    write_tree(parent, {"sigproc_results/1.wells": None, "sigproc_results/sigproc.log": None}, 10)
    reanalysis.mkdir()
    os.symlink(parent / "sigproc_results", reanalysis / "sigproc_results")
    assert sorted(select(sets[BASE], [str(reanalysis)], ignore_onboard=True).dirs[str(reanalysis)]) == [
        "sigproc_results/1.wells", "sigproc_results/sigproc.log"]
    assert select(sets[BASE], [str(reanalysis)], ignore_onboard=True, for_delete=True).dirs[str(reanalysis)] == []
