"""The four file categories with Torrent Suite's include/exclude/keep-with patterns and defaults (data)."""
from __future__ import annotations

import json
from dataclasses import dataclass

from torrentlite.store.dm_schema import SIG_TYPE

VERSION = "5.18"
SIG, BASE, OUT, INTR = SIG_TYPE, "Basecalling Input", "Output Files", "Intermediate Files"
TYPES = (SIG, BASE, OUT, INTR)
# The prefix of each category's fields in compositedatamanagement/, and the CLI's short names.
PREFIX = {SIG: "sigproc", BASE: "basecall", OUT: "output", INTR: "misc"}
BY_NAME = {**{p: t for t, p in PREFIX.items()}, **{t.lower(): t for t in TYPES},
           "sig": SIG, "base": BASE, "out": OUT, "intr": INTR}


def slug(type_: str) -> str:
    return type_.lower().replace(" ", "-")


_SIG_INCLUDE = [
    r".[^/]*\.dat", r"X\d+_Y\d+.*\.dat", r"thumbnail.*\.dat", "thumbnail/explog_final.txt",
    "thumbnail/explog_final.json", r".[^/]*?alW1Step_explog\.txt", r".[^/]*?hecksum_status\.txt",
    r".[^/]*?xplog\.txt", r".[^/]*?xplog\.json", r".[^/]*?xplog_final\.txt", r".[^/]*?xplog_final\.json",
    r".[^/]*?nitLog.*?txt", r".[^/]*?nitValsW.*?txt", r".[^/]*?awInit\.txt", r".[^/]*?cript_.*?txt",
    r".[^/]*?curves\.txt", r".[^/]*?ettling_coeff_vals\.txt", r".[^/]*?ross_talk_vectors\.txt", r".[^/]*?\.log",
    "Controller", r"DataCollect\.config", "debug", "liveview", "Gain.lsr", "thumbnail/Gain.lsr",
]
_SIGPROC = [
    r"sigproc_results/1\.wells", r"sigproc_results/.[^/]*?\.bin", r"sigproc_results/bfmask\.stats",
    r"sigproc_results/analysis\.bfmask\.stats", r"sigproc_results/analysis_return_code\.txt",
    r"sigproc_results/avgNukeTrace_ATCG\.txt", r"sigproc_results/avgNukeTrace_TCAG\.txt",
    r"sigproc_results/Bead_density_.*?\.png", r"sigproc_results/sigproc\.log",
    r"sigproc_results/processParameters\.txt",
]
_ONBOARD_BLOCKS = [f"onboard_results/sigproc_results/.*?block_.*?/{p}" for p in (
    r"1\.wells", r".[^/]*?\.bin", r"bfmask\.stats", r"sigproc\.log", r"processParameters\.txt",
    r"analysis\.bfmask\.stats", r"analysis_return_code\.txt", r"avgNukeTrace_ATCG\.txt", r"avgNukeTrace_TCAG\.txt",
    r"Bead_density_.*?\.png")]
_ONBOARD_TOP = [f"onboard_results/sigproc_results/{p}" for p in (
    r"analysis\.bfmask\.stats", r"analysis_return_code\.txt", r"avgNukeTrace_ATCG\.txt", r"avgNukeTrace_TCAG\.txt",
    r"Bead_density_.*?\.png")]
_BASE_INCLUDE = _SIGPROC + _ONBOARD_BLOCKS + _ONBOARD_TOP + [r".[^/]*?xplog\.txt", r".[^/]*?xplog\.json"]
_OUT_INCLUDE = [
    r"alignment.*?\.summary", "rawlib.alignment.summary", r".[^/]*?efault_Report.php", r".[^/]*?arsefiles.php",
    r"barcodeList\.txt", "primary.key", r".[^/]*?\.histo.dat", "expMeta.dat", "ion_analysis_00.py",
    "ion_params_00.json", "ionstats_alignment.json", r"alignment_barcode_summary\.csv", "raw_peak_signal",
    r".[^/]*?\.bam", r".[^/]*?\.bai", "pgm_logs.zip", r".[^/]*?\.png", "plugin_out/.*?", r".[^/]*?\.fasta",
    r".[^/]*?\.fai", "bam.header.sam", "drmaa_stderr_block.txt", "drmaa_stdout_block.txt", "drmaa_stdout.txt",
    "version.txt", r"basecaller_results/.[^/]*?\.json", r"basecaller_results/.[^/]*?\.png",
    r"basecaller_results/quality\.summary", r"basecaller_results/basecaller\.log", r"basecaller_results/.[^/]*\.bam",
    r"sigproc_results/.[^/]*?\.json", "sigproc_results/analysis.bfmask.stats",
    r"onboard_results/sigproc_results/analysis\.bfmask\.stats", r"sigproc_results/Bead_density_.*?\.png",
    r"sigproc_results/sigproc\.log", "bc_files/.*?", "bc_filtered/.*?", "download_links/.*?",
    r".[^/]*?eport_layout\.json", "CA_barcode_summary.json", ".*NucStep/.*", ".*dcOffset/.*", "status.txt",
]
_OUT_EXCLUDE = [".*?filtered.untrimmed/.*?", ".*?filtered.trimmed/.*?", ".*?unfiltered.untrimmed/.*?",
                ".*?unfiltered.trimmed/.*?"]
_INTR_INCLUDE = [
    ".*?", ".*?bcfiles", ".*?bc_filtered", ".*?filtered.trimmed", ".*?filtered.untrimmed", ".*?unfiltered.trimmed",
    ".*?unfiltered.untrimmed", ".*?block_.*?/.*?", ".*?onboard_results.*?", "jpg/.*?", r".[^/]*?\.jpg",
    r".[^/]*?hipCalImage\.bmp\.bz2", "InitRawTrace0.png",
]
# Everything the other categories claim, plus the report PDFs (the same 96 patterns as the real list).
_INTR_EXCLUDE = [
    r".[^/]*?support\.zip", "report.pdf", "backupPDF.pdf", r".[^/]*?\-full\.pdf", "pgm_logs.zip", r".[^/]*\.dat",
    r"X\d+_Y\d+.*\.dat", r"thumbnail.*\.dat", "thumbnail/explog_final.txt", "thumbnail/explog_final.json",
    r".*?CalW1Step_explog\.txt", r".*?checksum_status\.txt", r".*?explog\.txt", r".*?explog\.json",
    r".*?explog_final\.txt", r".*?explog_final\.json", r".*?InitLog.*?txt", r".*?InitValsW.*?txt", r".*?RawInit\.txt",
    r".*?Script_.*?\.txt", r".*?scurves\.txt", r".*?settling_coeff_vals\.txt", r".*?cross_talk_vectors\.txt",
    "status.txt", r".[^/]*?\.log", "Controller", r"DataCollect\.config", "debug", "liveview", "Gain.lsr",
    "thumbnail/Gain.lsr",
] + _SIGPROC + _ONBOARD_BLOCKS + _ONBOARD_TOP + [
    p for p in _OUT_INCLUDE if p not in (r"onboard_results/sigproc_results/analysis\.bfmask\.stats", "status.txt",
                                         r"sigproc_results/sigproc\.log")]


@dataclass(frozen=True)
class FileSetSeed:
    type: str
    description: str
    include: list
    exclude: list
    keepwith: dict
    auto_trigger_age: int
    auto_trigger_usage: int
    auto_action: str = "OFF"


SEEDS = (
    FileSetSeed(SIG, "Required input files for signal processing", _SIG_INCLUDE,
                [r".[^/]*?onboard_results.*?", r".*?expMeta\.dat", r".*?histo\.dat"],
                {BASE: [r".[^/]*?xplog\.txt", r".[^/]*?xplog\.json"]}, 21, 90),
    FileSetSeed(BASE, "Required input files for basecalling", _BASE_INCLUDE, [],
                {OUT: [r"sigproc_results/analysis\.bfmask\.stats",
                       r"onboard_results/sigproc_results/analysis\.bfmask\.stats",
                       r"sigproc_results/Bead_density_.*?\.png", r"sigproc_results/sigproc\.log"],
                 SIG: [r".[^/]*?xplog\.txt", r".[^/]*?xplog\.json"]}, 60, 90),
    FileSetSeed(OUT, "Report rendering, deliverables, plugins output", _OUT_INCLUDE, _OUT_EXCLUDE,
                {BASE: ["sigproc_results/analysis.bfmask.stats",
                        r"onboard_results/sigproc_results/analysis\.bfmask\.stats",
                        r"sigproc_results/Bead_density_.*?\.png"]}, 180, 90),
    FileSetSeed(INTR, "Files used for debugging only", _INTR_INCLUDE, _INTR_EXCLUDE,
                {BASE: ["sigproc_results/analysis.bfmask.stats", r"sigproc_results/Bead_density_.*?\.png"],
                 OUT: ["sigproc_results/analysis.bfmask.stats", r"sigproc_results/Bead_density_.*?\.png",
                       "plugin_out.*?", "pdf.*?"]}, 7, 20),
)


def ensure_filesets(db) -> int:
    """Seed or refresh the current version's rows; users' automatic-action settings survive upgrades.

    Returns how many rows were created.
    """
    created = 0
    for seed in SEEDS:
        patterns = (seed.description, json.dumps(seed.include), json.dumps(seed.exclude), json.dumps(seed.keepwith))
        row = db.execute_sql('SELECT "id" FROM "dmfileset" WHERE "type" = ? AND "version" = ?',
                             (seed.type, VERSION)).fetchone()
        if row:
            db.execute_sql('UPDATE "dmfileset" SET "description" = ?, "include" = ?, "exclude" = ?, "keepwith" = ?, '
                           '"current" = 1 WHERE "id" = ?', patterns + (row[0],))
            continue
        # A new version takes the user's settings from an older row of the same type.
        older = db.execute_sql('SELECT "auto_trigger_age", "auto_trigger_usage", "auto_action", "backup_directory", '
                               '"bandwidth_limit" FROM "dmfileset" WHERE "type" = ? ORDER BY "id" LIMIT 1',
                               (seed.type,)).fetchone()
        settings = older or (seed.auto_trigger_age, seed.auto_trigger_usage, seed.auto_action, None, None)
        db.execute_sql('UPDATE "dmfileset" SET "current" = 0 WHERE "type" = ?', (seed.type,))
        db.execute_sql('INSERT INTO "dmfileset" ("type", "version", "description", "include", "exclude", "keepwith", '
                       '"auto_trigger_age", "auto_trigger_usage", "auto_action", "backup_directory", '
                       '"bandwidth_limit", "current") VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 1)',
                       (seed.type, VERSION) + patterns + tuple(settings))
        created += 1
    return created


@dataclass(frozen=True)
class FileSet:
    """A dmfileset row, patterns decoded."""

    id: int
    type: str
    description: str
    include: tuple
    exclude: tuple
    keepwith: dict
    backup_directory: str
    auto_trigger_age: int
    auto_trigger_usage: int
    auto_action: str
    del_empty_dir: bool

    @property
    def prefix(self) -> str:
        return PREFIX[self.type]


_FS_COLUMNS = ('"id", "type", "description", "include", "exclude", "keepwith", "backup_directory", '
               '"auto_trigger_age", "auto_trigger_usage", "auto_action", "del_empty_dir"')


def _fileset(row) -> FileSet:
    return FileSet(row[0], row[1], row[2], tuple(json.loads(row[3])), tuple(json.loads(row[4])),
                   json.loads(row[5]), row[6] or "", int(row[7]), int(row[8]), row[9], bool(row[10]))


def fileset_by_id(db, pk: int) -> FileSet:
    return _fileset(db.execute_sql(f'SELECT {_FS_COLUMNS} FROM "dmfileset" WHERE "id" = ?', (pk,)).fetchone())


def current_filesets(db) -> dict[str, FileSet]:
    """The current version's file set of each category, in the canonical order."""
    rows = db.execute_sql(f'SELECT {_FS_COLUMNS} FROM "dmfileset" WHERE "current" = 1').fetchall()
    by_type = {r[1]: _fileset(r) for r in rows}
    return {t: by_type[t] for t in TYPES if t in by_type}
