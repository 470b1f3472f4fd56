"""Generated report folders for the data-management tests: a file of each kind, at known sizes."""
from __future__ import annotations

import os
from pathlib import Path

# relative path -> the categories the real rules put it in (None: no category touches it); files
# shared by two categories (explog, bfmask stats, bead density, sigproc.log) are in both.
REPORT_FILES = {
    "sigproc_results/1.wells": "Basecalling Input",
    "sigproc_results/analysis.bfmask.bin": "Basecalling Input",
    "sigproc_results/analysis.bfmask.stats": ("Basecalling Input", "Output Files"),
    "sigproc_results/Bead_density_raw.png": ("Basecalling Input", "Output Files"),
    "sigproc_results/sigproc.log": ("Basecalling Input", "Output Files"),
    "basecaller_results/rawlib.basecaller.bam": "Output Files",
    "basecaller_results/datasets_basecaller.json": "Output Files",
    "rawlib.bam": "Output Files",
    "rawlib.bam.bai": "Output Files",
    "ion_params_00.json": "Output Files",
    "plugin_out/RunSummary_out.1/summary.html": "Output Files",
    "download_links/reads.fastq": "Output Files",
    "basecaller_results/unfiltered.untrimmed/x.bam": "Intermediate Files",
    "block_X0_Y0/sigproc_results/1.wells": "Intermediate Files",
    "basecaller_results/rawlib.fastq": "Intermediate Files",
    "log.html": "Intermediate Files",
    "report.pdf": None,
    "Auto_x-full.pdf": None,
}
RAW_FILES = {
    "acq_0000.dat": "Signal Processing Input",
    "thumbnail/acq_0000.dat": "Signal Processing Input",
    "X0_Y0/acq_0001.dat": "Signal Processing Input",
    "explog_final.txt": "Signal Processing Input",
    "InitLog.txt": "Signal Processing Input",
    "debug": "Signal Processing Input",
    "explog.txt": ("Signal Processing Input", "Basecalling Input"),
    "onboard_results/sigproc_results/block_X0_Y0/1.wells": None,
}


def write_tree(root: Path, files: dict, size: int = 1000) -> None:
    for rel in files:
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(os.urandom(size))


def populate(app, result_id: int, size: int = 1000) -> tuple[Path, Path]:
    """Fill a demo report's report and raw-data folders with one file of each kind."""
    from torrentlite.datamgmt.state import load_report

    report = load_report(app.store.db, result_id)
    for folder in (report.report_dir, report.exp_dir):
        # Never the session's template data directory: the test changes these folders.
        assert Path(folder).is_relative_to(app.settings.data_path), folder
    write_tree(Path(report.report_dir), REPORT_FILES, size)
    write_tree(Path(report.exp_dir), RAW_FILES, size)
    return Path(report.report_dir), Path(report.exp_dir)


def categories(value) -> set:
    if value is None:
        return set()
    return set(value) if isinstance(value, tuple) else {value}
