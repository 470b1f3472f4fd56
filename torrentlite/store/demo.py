"""Deterministic demo runs: plans, experiments, reports and metrics, plus their report folders."""
from __future__ import annotations

import json
import random
import shutil
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Iterator

from . import demo_metrics as metrics
from .demo_files import (BED_FOLDER, PACKAGE_DATA, library_folder, read_summary, report_files,
                         sequencing_files)
from .demo_genome import GENOMES, PANEL
from .reference import (FLOW_ORDERS, INSTALL_DATE, P1B_ADAPTER, QC_TYPES, TMAP_INDEX_VERSION, chip_platform,
                        plan_guid, reference_rows, short_id)

Row = tuple[str, dict]

DEMO_SEED = 5417
DEMO_START = datetime(2017, 4, 3, 9, 12, 45, tzinfo=timezone.utc)
DEMO_USER = "ionadmin"
DEMO_OWNER_ID = 1
DEMO_PROJECT = "demo"
ANALYSIS_VERSION = "db:5.4.15-1,an:5.4.3-1,"
LOCATION_NAME = "Home"
FLOW_ORDER = FLOW_ORDERS[0][4]
RUN_SUMMARY, COVERAGE, EXPORT, QUALITY_GATE = "RunSummary", "AmpliconCoverage", "ExportReport", "QualityGate"


@dataclass(frozen=True)
class DemoRun:
    """One sequencing run of the demo: what was planned and which samples went on the chip."""
    key: str
    name: str
    instrument: str
    run_number: int
    chip: str
    flows: int
    run_type: str
    application_group: int
    sequencing_kit: str
    templating_kit: str
    library_kit: str
    reference: str
    barcode_kit: str
    samples: tuple[tuple[str, str], ...]
    plugins: tuple[str, ...] = ()
    panel: bool = False  # targeted: the plan names the demo panel's target-regions and hotspots BEDs


# (name, type, serial) of the demo instruments
INSTRUMENTS = (("PGM01", "PGM", "SN2-0451"), ("S5XL01", "S5", "2762010415"))

DEMO_RUNS = (
    DemoRun("ecoli", "Ecoli_DH10B_control", "PGM01", 12, "316v2", 500, "GENS", 1, "IonPGM200Kit-v2",
            "Ion PGM Template OT2 200 Kit", "Ion Xpress Plus Fragment Library Kit", "demo_ecoli", "",
            (("", "E_coli_DH10B"),), (RUN_SUMMARY, QUALITY_GATE, EXPORT)),
    DemoRun("ampliseq", "AmpliSeq_CHP2_4plex", "S5XL01", 41, "530", 500, "AMPS", 1, "Ion S5 Sequencing Kit",
            "Ion Chef S530 V1", "Ion AmpliSeq Library Kit Plus", "demo_hg", "IonXpress",
            (("IonXpress_001", "NA12878"), ("IonXpress_002", "NA12891"), ("IonXpress_003", "NA12892"),
             ("IonXpress_004", "HD701_Reference")), (RUN_SUMMARY, COVERAGE, QUALITY_GATE, EXPORT), True),
    DemoRun("wgs", "NA12878_low_pass_WGS", "S5XL01", 42, "540", 500, "WGNM", 1, "Ion S5 Sequencing Kit",
            "Ion Chef S540 V1", "Ion Xpress Plus Fragment Library Kit", "demo_hg", "", (("", "NA12878_WGS"),),
            (RUN_SUMMARY, QUALITY_GATE, EXPORT)),
)


@dataclass
class DemoData:
    """Everything the demo generates: rows in dependency order, text files and copied package files."""
    rows: list[Row] = field(default_factory=list)
    files: dict[Path, str] = field(default_factory=dict)
    copies: dict[Path, Path] = field(default_factory=dict)
    bed_files: dict[str, Path] = field(default_factory=dict)  # BED name -> where its content row says it is


class IdAllocator:
    """Hands out ids per table, continuing after the reference rows."""

    def __init__(self, existing: Iterator[Row]):
        self._next: dict[str, int] = {}
        self.barcodes: dict[str, int] = {}
        for table, row in existing:
            if "id" in row:
                self._next[table] = max(self._next.get(table, 1), row["id"] + 1)
            if table == "dnabarcode":
                self.barcodes[row["id_str"]] = row["id"]

    def __call__(self, table: str) -> int:
        pk = self._next.get(table, 1)
        self._next[table] = pk + 1
        return pk


def demo_rows(results_root: Path, library_root: Path | None = None, bed_publisher: int = 1) -> Iterator[Row]:
    """Yield the demo's (table, row) pairs; stored paths lie under results_root and library_root."""
    yield from build_demo(results_root, library_root, bed_publisher).rows


def write_demo_folders(results_root: Path, library_root: Path | None = None) -> None:
    """Write the raw-data and report folders, the panel BEDs and the reference library the demo rows point at."""
    data = build_demo(results_root, library_root)
    for path, text in data.files.items():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    for path, source in data.copies.items():
        path.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(source, path)


def run_identity(index: int, run: DemoRun) -> tuple[datetime, str]:
    """When a demo run started and its run id (the read-group prefix inside its BAMs)."""
    rng = random.Random(f"{DEMO_SEED}:{run.key}")
    return DEMO_START + timedelta(days=index, minutes=rng.randint(0, 300)), short_id(rng)


def report_root(results_root: Path) -> Path:
    """The demo report storage's dirPath."""
    return Path(results_root).resolve() / "analysis" / "output"


def build_demo(results_root: Path, library_root: Path | None = None, bed_publisher: int = 1) -> DemoData:
    """Generate the whole demo; the same folders always give the same data.

    library_root is the data directory: it holds referenceLibrary/ and uploads/ (default: the parent of
    results_root). bed_publisher is the id of the BED publisher row the panel's BED files belong to.
    """
    root = Path(results_root).resolve()
    library = Path(library_root).resolve() if library_root is not None else root.parent
    ids = IdAllocator(reference_rows())
    data = DemoData()
    _add_genomes(data, ids, library)
    _add_panel(data, ids, library, bed_publisher)
    storage_id = ids("reportstorage")
    data.rows.append(("reportstorage", {"id": storage_id, "name": "Demo", "webServerPath": "/output",
                                        "dirPath": str(report_root(root)), "default": False}))
    for name, kind, serial in INSTRUMENTS:
        data.rows.append(("rig", _rig_row(name, kind, serial)))
    project_id = ids("project")
    data.rows.append(("project", {"id": project_id, "name": DEMO_PROJECT, "creator": DEMO_OWNER_ID,
                                  "public": True, "created": DEMO_START - timedelta(days=3),
                                  "modified": DEMO_START + timedelta(days=len(DEMO_RUNS))}))
    for index, run in enumerate(DEMO_RUNS):
        rng = random.Random(DEMO_SEED * 100 + index)
        when, runid = run_identity(index, run)
        _add_run(data, ids, rng, run, root, when, runid, storage_id, project_id)
    return data


def _add_genomes(data: DemoData, ids: IdAllocator, library: Path) -> None:
    """The synthetic genomes the demo reads align to, with their FASTA and index in the reference library."""
    for short, (name, species, _contigs) in GENOMES.items():
        folder = library_folder(library, short)
        data.rows.append(("referencegenome", {
            "id": ids("referencegenome"), "short_name": short, "name": name, "species": species, "version": "1",
            "index_version": TMAP_INDEX_VERSION, "status": "complete", "enabled": True,
            "reference_path": str(folder), "notes": "Synthetic genome shipped with the demo data.",
            "source": "", "celery_task_id": "", "verbose_error": "", "identity_hash": None, "date": INSTALL_DATE}))
        source = library_folder(PACKAGE_DATA, short)
        for suffix in (".fasta", ".fasta.fai"):
            data.copies[folder / f"{short}{suffix}"] = source / f"{short}{suffix}"


def _add_panel(data: DemoData, ids: IdAllocator, library: Path, publisher: int) -> None:
    """The panel's target-regions and hotspots BEDs, uploaded to the BED publisher as Torrent Suite stores them."""
    for name, hotspot in ((PANEL, False), (f"{PANEL}_Hotspots", True)):
        upload = ids("contentupload")
        folder = library / "uploads" / "BED" / str(upload)
        meta = {"reference": "demo_hg", "hotspot": hotspot, "is_ampliseq": True, "description": name,
                "enabled": True}
        data.rows.append(("contentupload", {"id": upload, "file_path": str(folder / f"{name}.bed"),
                                            "status": "Successfully Completed", "meta": meta}))
        detail = f"/demo_hg/unmerged/detail/{name}.bed"
        data.rows.append(("content", {"id": ids("content"), "publisher": publisher, "contentupload": upload,
                                      "file": str(folder) + detail, "path": detail, "meta": meta}))
        data.bed_files[name] = Path(str(folder) + detail)
        data.files[folder / "meta.json"] = json.dumps(meta, indent=4, sort_keys=True) + "\n"
        for target in (folder / f"{name}.bed", data.bed_files[name]):
            data.copies[target] = PACKAGE_DATA / BED_FOLDER / f"{name}.bed"


def _rig_row(name: str, kind: str, serial: str) -> dict:
    return {"name": name, "location": 1, "type": kind, "serial": serial, "state": "", "comments": "",
            "host_address": "", "last_experiment": "", "last_clean_date": "", "last_init_date": "",
            "version": {}, "alarms": {}, "updateCommand": {}, "updateflag": False}


def _add_run(data: DemoData, ids: IdAllocator, rng: random.Random, run: DemoRun, root: Path,
             when: datetime, runid: str, storage_id: int, project_id: int) -> None:
    short, guid = short_id(rng), plan_guid(rng)
    reads = read_summary()["runs"][run.key]["datasets"]
    exp_name = f"R_{when:%Y_%m_%d_%H_%M_%S}_user_{run.instrument}-{run.run_number}-{run.name}"
    exp_dir = root / run.instrument / exp_name
    finished = when + timedelta(hours=3, minutes=rng.randint(0, 59))
    rows: list[Row] = []
    sample_set_id = None
    if run.barcode_kit:
        sample_set_id = ids("sampleset")
        rows.append(("sampleset", _sample_set_row(sample_set_id, run, when)))
    plan_id = ids("plannedexperiment")
    rows.append(("plannedexperiment", _plan_row(plan_id, run, short, guid, when, project_id, sample_set_id)))
    for qc_type, (_name, _low, _high, default) in enumerate(QC_TYPES, start=1):
        rows.append(("plannedexperimentqc", {"id": ids("plannedexperimentqc"), "plannedExperiment": plan_id,
                                             "qcType": qc_type, "threshold": default}))
    explog = explog_entries(rng, run, exp_name, short, guid, when, finished)
    exp_id = ids("experiment")
    rows.append(("experiment", _experiment_row(exp_id, run, exp_name, exp_dir, short, explog, when,
                                               finished, plan_id, rng)))
    eas_id = ids("experimentanalysissettings")
    beds = (str(data.bed_files[PANEL]), str(data.bed_files[f"{PANEL}_Hotspots"])) if run.panel else ("", "")
    eas = _eas_row(eas_id, exp_id, run, when, beds)
    rows.append(("experimentanalysissettings", eas))
    sample_ids = []
    for barcode, sample in run.samples:
        sample_ids.append(ids("sample"))
        rows.append(("sample", {"id": sample_ids[-1], "name": sample, "displayedName": sample,
                                "externalId": f"EXT-{sample_ids[-1]:04d}", "description": "",
                                "status": "run", "date": when, "experiments": [exp_id]}))
    if sample_set_id is not None:
        for sample_id, (barcode, _sample) in zip(sample_ids, run.samples):
            rows.append(("samplesetitem", _sample_set_item_row(ids("samplesetitem"), sample_set_id, sample_id,
                                                               ids.barcodes[barcode], when)))
    result_id = ids("results")
    results_name = f"Auto_user_{run.instrument}-{run.run_number}-{run.name}_{exp_id}"
    report_dir = f"{results_name}_{result_id:03d}"
    rows.append(("results", _results_row(result_id, run, results_name, report_dir, runid, finished,
                                         exp_id, eas_id, storage_id, project_id)))
    analysis = metrics.analysis_metrics(rng, run.chip, sum(d["read_count"] for d in reads))
    quality = metrics.quality_metrics(reads)
    lib = metrics.lib_metrics(rng, analysis, reads, run.reference)
    tf = metrics.tf_metrics(rng, analysis)
    for table, values in (("analysismetrics", analysis), ("qualitymetrics", quality), ("libmetrics", lib),
                          ("tfmetrics", tf)):
        rows.append((table, dict(values, id=ids(table), report=result_id)))
    for offset, text in ((0, f"Report {results_name} started by the pipeline."),
                         (1, f"Report {results_name} completed.")):
        rows.append(("eventlog", {"id": ids("eventlog"), "content_type": "results", "object_pk": result_id,
                                  "username": DEMO_USER,
                                  "text": text, "created": finished + timedelta(minutes=offset * 95)}))
    data.rows.extend(rows)
    context = {"run": run, "root": root, "exp_dir": exp_dir, "exp_name": exp_name, "explog": explog,
               "results_name": results_name, "report_dir": report_root(root) / LOCATION_NAME / report_dir,
               "report_link": f"/output/{LOCATION_NAME}/{report_dir}/", "result_id": result_id,
               "runid": _row(rows, "results")["runid"], "plan": _row(rows, "plannedexperiment"),
               "experiment": _row(rows, "experiment"), "eas": eas, "lib": lib, "analysis": analysis,
               "when": when, "flow_order": FLOW_ORDER, "reads": reads}
    data.files.update(report_files(context))
    data.copies.update(sequencing_files(context))


def _row(rows: list[Row], table: str) -> dict:
    return next(row for name, row in rows if name == table)


def explog_entries(rng: random.Random, run: DemoRun, exp_name: str, short: str, guid: str,
                   start: datetime, end: datetime) -> list[tuple[str, str]]:
    """The run's explog as ordered (key, value) pairs, as the instrument writes them."""
    platform = chip_platform(run.chip)
    return [
        ("Start Time", f"{start:%a %b %d %H:%M:%S %Y}"),
        ("Experiment Name", exp_name),
        ("User Name", "user"),
        ("Serial Number", dict((n, s) for n, _k, s in INSTRUMENTS)[run.instrument]),
        ("Platform", platform),
        ("Chip Type", run.chip),
        ("Chip Barcode", f"AA{rng.randint(1000000, 9999999)}"),
        ("Flows", str(run.flows)),
        ("Cycles", str(run.flows // 32)),
        ("Library Key", "TCAG"),
        ("Test Fragment Key", "ATCG"),
        ("Flow Order", FLOW_ORDER),
        ("Run Type", run.run_type),
        ("Planned Run Short ID", short),
        ("Planned Run GUID", guid),
        ("Sequencing Kit", run.sequencing_kit),
        ("Templating Kit", run.templating_kit),
        ("Library", run.reference),
        ("Barcode Set", run.barcode_kit or "none"),
        ("Project", DEMO_PROJECT),
        ("Sample", run.samples[0][1] if not run.barcode_kit else ""),
        ("Frame Time", "0.0666667"),
        ("Oversample", "1x"),
        ("End Time", f"{end:%a %b %d %H:%M:%S %Y}"),
    ]


def explog_dict(entries: list[tuple[str, str]]) -> dict:
    """experiment.log: the explog keys lower-cased with underscores, numbers as numbers."""
    parsed = {}
    for key, value in entries:
        parsed[key.lower().replace(" ", "_")] = int(value) if value.isdigit() else value
    return parsed


def _sample_set_row(pk: int, run: DemoRun, when: datetime) -> dict:
    return {"id": pk, "displayedName": f"{run.name} samples", "description": "Demo barcoded sample set",
            "status": "run", "SampleGroupType_CV": 2, "libraryPrepInstrumentData": None,
            "libraryPrepType": "", "libraryPrepKitName": run.library_kit, "libraryPrepInstrument": "",
            "libraryPrepPlateType": "", "pcrPlateSerialNum": "", "combinedLibraryTubeLabel": "",
            "creationDate": when - timedelta(days=1), "lastModifiedDate": when}


def _sample_set_item_row(pk: int, sample_set: int, sample: int, barcode: int, when: datetime) -> dict:
    return {"id": pk, "sampleSet": sample_set, "sample": sample, "dnabarcode": barcode, "relationshipGroup": 1,
            "relationshipRole": "Self", "nucleotideType": "DNA", "gender": "", "controlType": "",
            "description": "", "cancerType": None, "cellularityPct": None, "pcrPlateRow": "",
            "pcrPlateColumn": "", "biopsyDays": 0, "coupleId": "", "embryoId": "",
            "creationDate": when - timedelta(days=1), "lastModifiedDate": when}


def _plan_row(pk: int, run: DemoRun, short: str, guid: str, when: datetime, project_id: int,
              sample_set_id) -> dict:
    return {"id": pk, "planName": run.name, "planDisplayedName": run.name.replace("_", " "),
            "planShortID": short, "planGUID": guid, "planStatus": "run", "runType": run.run_type,
            "runMode": "single", "isReusable": False, "isSystem": False, "isSystemDefault": False,
            "planExecuted": True, "planExecutedDate": when, "date": when - timedelta(days=1),
            "templatingKitName": run.templating_kit, "libraryReadLength": 200, "usePreBeadfind": True,
            "usePostBeadfind": False, "preAnalysis": True, "storage_options": "A", "metaData": {},
            "planPGM": run.instrument, "expName": "", "username": DEMO_USER, "irworkflow": "",
            "categories": "", "sampleTubeLabel": "", "applicationGroup": run.application_group,
            "sampleGrouping": 2, "projects": [project_id],
            "sampleSets": [sample_set_id] if sample_set_id is not None else []}


def _experiment_row(pk: int, run: DemoRun, exp_name: str, exp_dir: Path, short: str, explog, when: datetime,
                    finished: datetime, plan_id: int, rng: random.Random) -> dict:
    log = explog_dict(explog)
    return {"id": pk, "expName": exp_name, "unique": str(exp_dir), "expDir": str(exp_dir), "displayName": short,
            "status": "run", "ftpStatus": "Complete", "chipType": run.chip, "chipBarcode": log["chip_barcode"],
            "flows": run.flows, "cycles": run.flows // 32, "flowsInOrder": FLOW_ORDER,
            "platform": chip_platform(run.chip), "pgmName": run.instrument, "sequencekitname": run.sequencing_kit,
            "runMode": "single", "notes": "", "storageHost": "localhost", "date": when, "resultDate": finished,
            "log": log, "metaData": {}, "plan": plan_id, "storage_options": "A", "user_ack": "U",
            "autoAnalyze": True, "usePreBeadfind": True, "rawdatastyle": "single",
            "diskusage": rng.randint(20_000, 90_000)}


def barcoded_samples(run: DemoRun, beds: tuple[str, str] = ("", "")) -> dict:
    """EAS barcodedSamples: sample name -> its barcodes and per-barcode info."""
    samples: dict = {}
    for barcode, sample in run.samples:
        if not barcode:
            continue
        entry = samples.setdefault(sample, {"barcodes": [], "barcodeSampleInfo": {}})
        entry["barcodes"].append(barcode)
        entry["barcodeSampleInfo"][barcode] = {
            "controlSequenceType": "", "controlType": "", "description": "", "externalId": "",
            "hotSpotRegionBedFile": beds[1], "nucleotideType": "DNA", "reference": run.reference,
            "sseBedFile": "", "targetRegionBedFile": beds[0], "endBarcode": ""}
    return samples


def selected_plugins(run: DemoRun) -> dict:
    """EAS selectedPlugins for the plugins the plan asked for."""
    return {name: {"name": name, "features": [], "userInput": {}, "version": ""} for name in run.plugins}


def _eas_row(pk: int, exp_id: int, run: DemoRun, when: datetime, beds: tuple[str, str]) -> dict:
    return {"id": pk, "experiment": exp_id, "status": "run", "isEditable": False, "isOneTimeOverride": False,
            "date": when, "reference": run.reference, "barcodeKitName": run.barcode_kit,
            "libraryKitName": run.library_kit, "libraryKey": "TCAG", "tfKey": "ATCG",
            "threePrimeAdapter": P1B_ADAPTER, "targetRegionBedFile": beds[0], "hotSpotRegionBedFile": beds[1],
            "sseBedFile": "", "barcodedSamples": barcoded_samples(run, beds), "selectedPlugins": selected_plugins(run),
            "base_recalibration_mode": "standard_recal", "realign": False, "isDuplicateReads": False}


def _results_row(pk: int, run: DemoRun, results_name: str, report_dir: str, runid: str, finished: datetime,
                 exp_id: int, eas_id: int, storage_id: int, project_id: int) -> dict:
    link = f"/output/{LOCATION_NAME}/{report_dir}/"
    return {"id": pk, "resultsName": results_name, "status": "Completed", "reportStatus": "Nothing",
            "reportLink": link, "log": f"{link}log.html", "timeStamp": finished + timedelta(hours=2),
            "metaData": {}, "processedflows": run.flows, "processedCycles": 0, "framesProcessed": 0,
            "timeToComplete": "0", "analysisVersion": ANALYSIS_VERSION, "runid": runid,
            "reference": run.reference, "resultsType": "", "parentIDs": "", "representative": False,
            "autoExempt": False, "diskusage": 0, "experiment": exp_id, "eas": eas_id,
            "reportstorage": storage_id, "projects": [project_id]}
