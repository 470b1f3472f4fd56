"""Reference and demo rows: determinism, spec conformance, relations, and the demo report folders."""
import json
from datetime import datetime
from pathlib import Path

import pytest

import torrentlite
from torrentlite.store.demo import DEMO_SEED, build_demo, demo_rows, write_demo_folders
from torrentlite.store.reference import reference_rows

SPEC_PATH = Path(torrentlite.__file__).parent / "data" / "rundb_v1_resources.json"
RESOURCES = {r["name"]: r for r in json.loads(SPEC_PATH.read_text())["resources"]}

# Physical tables whose columns come from another resource's page.
TABLE_RESOURCE = {"plannedexperiment": "plantemplatesummary"}
# Links a table carries beyond its resource's fields: name -> target table (None: plain column).
EXTRA_LINKS = {
    "plannedexperiment": {"applicationGroup": "applicationgroup", "sampleGrouping": "samplegrouptype_cv",
                          "projects": "project", "sampleSets": "sampleset"},
    "PluginResultJob": {"plugin_result": "pluginresult"},
    "eventlog": {"content_type": None},
}
HELPER_TABLES = {
    "reportstorage": {"id": "integer", "name": "string", "webServerPath": "string", "dirPath": "string",
                      "default": "boolean"},
}
COMPUTED = {
    "results": {"filesystempath", "bamLink", "planShortID", "pluginState", "pluginStore"},
    "experiment": {"runtype", "isProton", "sample"},
    "project": {"resultsCount"},
}
# Reverse sides: never given, even where the spec marks them non-nullable.
REVERSE = {"results": {"libmetrics", "tfmetrics", "analysismetrics", "qualitymetrics", "pluginresults"},
           "experiment": {"results", "eas_set", "samples"}, "kitinfo": {"parts"},
           "experimentanalysissettings": {"results"}, "samplegrouptype_cv": {"sampleSets", "sampleAnnotation_set"},
           "sample": {"sampleSets"}, "sampleset": {"samples"}, "sampleprepdata": {"sampleSet"},
           "applicationgroup": {"applications"}}
PRESET_ROWS = {"user": {1, 2}, "publisher": {1}}  # the BED publisher is installed before the demo loads


def fields_of(table):
    resource = RESOURCES[TABLE_RESOURCE.get(table, table)]
    return {f["name"]: f for f in resource["fields"]}


def link_targets(table):
    if table in HELPER_TABLES:
        return {}
    targets = {name: f["related_to"] for name, f in fields_of(table).items() if f["type"] == "related"}
    targets.update({k: v for k, v in EXTRA_LINKS.get(table, {}).items() if v})
    if table == "results":
        targets["reportstorage"] = "reportstorage"
    return targets


def pk_of(table, row):
    return row["name"] if table == "rig" else row["id"]


@pytest.fixture(scope="module")
def reference():
    return list(reference_rows())


@pytest.fixture(scope="module")
def demo_root(tmp_path_factory):
    root = tmp_path_factory.mktemp("results")
    write_demo_folders(root, root)
    return root.resolve()


@pytest.fixture(scope="module")
def demo(demo_root):
    return list(demo_rows(demo_root, demo_root))


@pytest.fixture(scope="module")
def all_rows(reference, demo):
    return reference + demo


def test_generation_is_deterministic(reference, demo, demo_root):
    assert list(reference_rows()) == reference
    assert list(demo_rows(demo_root, demo_root)) == demo
    assert isinstance(DEMO_SEED, int)


def test_keys_are_spec_fields(all_rows):
    for table, row in all_rows:
        if table in HELPER_TABLES:
            assert set(row) <= set(HELPER_TABLES[table]), table
            continue
        allowed = set(fields_of(table)) | set(EXTRA_LINKS.get(table, {}))
        if table == "results":
            allowed.add("reportstorage")
        assert set(row) <= allowed, (table, set(row) - allowed)
        assert not set(row) & (COMPUTED.get(table, set()) | REVERSE.get(table, set()) | {"resource_uri"}), table


def test_ids_unique_per_table(all_rows):
    seen = {}
    for table, row in all_rows:
        pk = pk_of(table, row)
        assert pk not in seen.setdefault(table, set()), (table, pk)
        if table != "rig":
            assert isinstance(pk, int) and not isinstance(pk, bool)
        seen[table].add(pk)


def test_relations_point_at_earlier_rows(all_rows):
    seen = {table: set(pks) for table, pks in PRESET_ROWS.items()}
    for table, row in all_rows:
        for name, target in link_targets(table).items():
            if name not in row or row[name] is None:
                continue
            values = row[name] if isinstance(row[name], list) else [row[name]]
            for value in values:
                assert isinstance(value, int), (table, name, value)
                assert value in seen.get(target, set()), (table, row.get("id"), name, target, value)
        seen.setdefault(table, set()).add(pk_of(table, row))


def _type_ok(spec_type, value, nullable):
    if value is None:
        return nullable
    if spec_type == "string":
        return isinstance(value, (str, dict))
    if spec_type == "integer":
        return isinstance(value, int) and not isinstance(value, bool)
    if spec_type == "float":
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    if spec_type == "boolean":
        return isinstance(value, bool)
    if spec_type == "datetime":
        return isinstance(value, datetime) and value.tzinfo is not None
    return True


def test_values_have_spec_types_and_required_fields(all_rows):
    for table, row in all_rows:
        if table in HELPER_TABLES:
            continue
        fields = fields_of(table)
        for name, value in row.items():
            if name in fields and fields[name]["type"] != "related":
                assert _type_ok(fields[name]["type"], value, fields[name]["nullable"]), (table, name, value)
        skip = COMPUTED.get(table, set()) | REVERSE.get(table, set()) | {"id", "resource_uri"}
        for name, f in fields.items():
            if name in skip or f["readonly"] or f.get("to_many") or f["nullable"] or f["default"] != "n/a":
                continue
            if table == "rig" and name == "name":
                continue
            assert name in row, (table, pk_of(table, row), name)


def test_reference_contents(reference):
    by_table = {}
    for table, row in reference:
        by_table.setdefault(table, []).append(row)
    barcodes = {}
    for row in by_table["dnabarcode"]:
        barcodes.setdefault(row["name"], []).append(row)
        assert row["id_str"] == f"{row['name']}_{row['index']:03d}"
        assert row["length"] == len(row["sequence"])
    assert [r["index"] for r in barcodes["IonXpress"]] == list(range(1, 97))
    assert len(barcodes["IonXpressRNA"]) == 16
    published = {r["id_str"]: r["sequence"] for r in barcodes["IonXpress"]}
    assert published["IonXpress_001"] == "CTAAGGTAAC"
    assert published["IonXpress_033"] == "TTCTCATTGAAC"
    assert published["IonXpress_034"] == "TCGCATCGTTC"
    assert len(set(published.values())) == 96
    config = by_table["globalconfig"]
    assert len(config) == 1 and config[0]["id"] == 1 and config[0]["default_library_key"] == "TCAG"
    templates = by_table["plannedexperiment"]
    assert templates and all(p["isReusable"] and p["isSystem"] for p in templates)
    assert {"hg19", "e_coli_dh10b"} <= {g["short_name"] for g in by_table["referencegenome"]}
    assert all(a["chip_default"] for a in by_table["analysisargs"])


KIT_VIEWS = {
    "kitinfo": lambda k: True,
    "sequencingkitinfo": lambda k: k["kitType"] == "SequencingKit",
    "activesequencingkitinfo": lambda k: k["kitType"] == "SequencingKit" and k["isActive"],
    "activepgmsequencingkitinfo": lambda k: KIT_VIEWS["activesequencingkitinfo"](k)
    and k["instrumentType"] in ("", "pgm"),
    "activeprotonsequencingkitinfo": lambda k: KIT_VIEWS["activesequencingkitinfo"](k)
    and k["instrumentType"] in ("", "proton"),
    "librarykitinfo": lambda k: k["kitType"] == "LibraryKit",
    "activelibrarykitinfo": lambda k: k["kitType"] == "LibraryKit" and k["isActive"],
    "activepgmlibrarykitinfo": lambda k: KIT_VIEWS["activelibrarykitinfo"](k) and k["instrumentType"] in ("", "pgm"),
    "activeprotonlibrarykitinfo": lambda k: KIT_VIEWS["activelibrarykitinfo"](k)
    and k["instrumentType"] in ("", "proton"),
    "ionchefprepkitinfo": lambda k: k["kitType"] == "IonChefPrepKit",
    "activeionchefprepkitinfo": lambda k: k["kitType"] == "IonChefPrepKit" and k["isActive"],
    "activeioncheflibraryprepkitinfo": lambda k: k["kitType"] == "LibraryPrepKit" and k["isActive"]
    and "ic" in k["samplePrep_instrumentType"].lower(),
}


@pytest.mark.parametrize("view", sorted(KIT_VIEWS))
def test_every_kit_view_has_rows(reference, view):
    kits = [row for table, row in reference if table == "kitinfo"]
    assert any(KIT_VIEWS[view](k) for k in kits), view
    assert {k["isActive"] for k in kits} == {True, False}
    assert {"pgm", "proton"} <= {k["instrumentType"] for k in kits}


def _demo_tables(demo):
    by_table = {}
    for table, row in demo:
        by_table.setdefault(table, []).append(row)
    return by_table


def test_demo_runs_cover_the_brief(demo):
    tables = _demo_tables(demo)
    assert len(tables["results"]) >= 3
    chips = {e["chipType"] for e in tables["experiment"]}
    assert {"316v2", "530"} <= chips
    assert all(e["status"] == "run" for e in tables["experiment"])
    assert all(r["status"] == "Completed" and r["resultsName"].startswith("Auto_user_") for r in tables["results"])
    barcoded = [e for e in tables["experimentanalysissettings"] if e["barcodeKitName"]]
    assert len(barcoded) == 1
    samples = barcoded[0]["barcodedSamples"]
    assert len(samples) >= 4
    assert sorted(b for s in samples.values() for b in s["barcodes"])[:4] == [
        "IonXpress_001", "IonXpress_002", "IonXpress_003", "IonXpress_004"]
    assert "plugin" not in tables and "pluginresult" not in tables
    assert all(p["planExecuted"] for p in tables["plannedexperiment"])


def test_demo_metrics_are_consistent(demo):
    tables = _demo_tables(demo)
    for result in tables["results"]:
        lib, = [m for m in tables["libmetrics"] if m["report"] == result["id"]]
        am, = [m for m in tables["analysismetrics"] if m["report"] == result["id"]]
        qm, = [m for m in tables["qualitymetrics"] if m["report"] == result["id"]]
        assert lib["totalNumReads"] == am["libFinal"] == qm["q0_reads"]
        assert am["adjusted_addressable"] == am["total"] - am["excluded"]
        assert am["adjusted_addressable"] == am["empty"] + am["pinned"] + am["ignored"] + am["bead"]
        assert am["bead"] == am["live"] + am["dud"] + am["amb"] and am["live"] == am["lib"] + am["tf"]
        assert am["libFinal"] < am["lib"] and am["tfFinal"] < am["tf"]
        assert int(qm["q20_bases"]) < int(qm["q17_bases"]) < int(qm["q0_bases"])
        assert int(lib["total_mapped_reads"]) <= lib["totalNumReads"]
        assert lib["cf"] == am["sysCF"]


def _report_dir(root, result):
    return root / "analysis" / "output" / result["reportLink"].split("/")[2] / result["reportLink"].split("/")[3]


def test_demo_folders(demo, demo_root):
    tables = _demo_tables(demo)
    for result in tables["results"]:
        report = _report_dir(demo_root, result)
        for name in ("ion_params_00.json", "explog_final.txt", "basecaller_results/datasets_basecaller.json",
                     "sigproc_results/bfmask.stats"):
            assert (report / name).is_file(), (report, name)
        params = json.loads((report / "ion_params_00.json").read_text())
        for key in ("expName", "pathToData", "resultsName", "libraryKey", "tfKey", "chiptype", "flowOrder",
                    "project", "sample", "referenceName", "barcodeId", "plan", "exp_json", "site_name", "plugins"):
            assert key in params, key
        assert params["resultsName"] == result["resultsName"] and params["plan"]["runType"]
        assert Path(params["pathToData"]).is_dir()
        datasets = json.loads((report / "basecaller_results" / "datasets_basecaller.json").read_text())
        lib, = [m for m in tables["libmetrics"] if m["report"] == result["id"]]
        assert sum(d["read_count"] for d in datasets["datasets"]) == lib["totalNumReads"]
        for dataset in datasets["datasets"]:
            assert (report / "basecaller_results" / dataset["basecaller_bam"]).is_file()
            assert (report / f"{dataset['file_prefix']}.bam").is_file()
            assert (report / f"{dataset['file_prefix']}.bam.bai").is_file()
        explog = (report / "explog_final.txt").read_text().splitlines()
        assert any(line.startswith("Chip Type: ") for line in explog)
        eas, = [e for e in tables["experimentanalysissettings"] if e["id"] == result["eas"]]
        barcoded = bool(eas["barcodeKitName"])
        assert (report / "barcodeList.txt").is_file() == barcoded
        assert (report / "alignment_barcode_summary.csv").is_file() == barcoded
        if barcoded:
            groups = {g.split(".", 1)[1] for d in datasets["datasets"] for g in d["read_groups"]}
            assert {"IonXpress_001", "IonXpress_004", "nomatch"} <= groups


def _strings(value):
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for item in value.values():
            yield from _strings(item)
    elif isinstance(value, list):
        for item in value:
            yield from _strings(item)


def test_demo_paths_stay_under_results_root(demo, demo_root, tmp_path):
    for table, row in demo:
        if table == "content":  # its path is relative to the upload folder, written with a leading slash
            row = {key: value for key, value in row.items() if key != "path"}
        for text in _strings(row):
            if text.startswith("/") and not text.startswith(("/output", "/rundb/")):
                assert Path(text).resolve().is_relative_to(demo_root), (table, text)
    built = build_demo(demo_root, demo_root)
    for path in [*built.files, *built.copies]:
        assert path.resolve().is_relative_to(demo_root)
    for path in demo_root.rglob("*"):
        assert path.resolve().is_relative_to(demo_root)
    write_demo_folders(tmp_path, tmp_path)
    assert sorted(p.relative_to(tmp_path) for p in tmp_path.rglob("*")) == sorted(
        p.relative_to(demo_root) for p in demo_root.rglob("*"))
