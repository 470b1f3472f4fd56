"""The demo's sequencing files: every path plugins are given exists, BAMs are valid, metrics agree with the reads."""
from __future__ import annotations

import csv
import json
from pathlib import Path

import pysam
import pytest

from conftest import Client, admin_headers
from torrentlite.runner.startplugin import build_barcodes, build_startplugin, load_report
from torrentlite.store.demo_genome import PANEL, amplicons, variants

PLUGIN = {"name": "Probe", "path": "", "version": "1.0", "id": 0, "depends": []}


def _results(app) -> list[int]:
    return [row[0] for row in app.store.db.execute_sql('SELECT id FROM "results" ORDER BY id').fetchall()]


def _one(app, table: str, result_pk: int) -> dict:
    rows = app.store.reader.where(table, "report_id = ?", (result_pk,))
    assert len(rows) == 1, (table, result_pk)
    return rows[0]


@pytest.fixture(scope="module")
def reports(shared_app):
    """Per demo report: its Report, barcodes.json and startplugin.json as a plugin job would get them."""
    found = {}
    for pk in _results(shared_app):
        rep = load_report(shared_app.store, pk)
        barcodes = build_barcodes(shared_app.store, rep)
        start = build_startplugin(shared_app.store, rep, plugin=PLUGIN, level="default",
                                  results_dir=str(Path(rep.dir) / "plugin_out" / "Probe_out.0"), run_mode="manual",
                                  pluginconfig={}, net_location="http://127.0.0.1", username="ionadmin",
                                  pluginresult=0, api_key="")
        found[pk] = (rep, barcodes, start)
    return found


def test_every_path_in_barcodes_and_startplugin_exists(reports):
    for rep, barcodes, start in reports.values():
        assert barcodes, rep.pk
        for name, entry in barcodes.items():
            for key in ("bam_filepath", "reference_fullpath", "target_region_filepath", "hotspot_filepath"):
                if key in ("target_region_filepath", "hotspot_filepath") and not entry[key]:
                    continue
                assert Path(entry[key]).is_file(), (rep.pk, name, key, entry[key])
            assert entry["aligned"] and Path(entry["bam_filepath"] + ".bai").is_file()
            assert Path(entry["reference_fullpath"] + ".fai").is_file()
            unaligned = Path(rep.dir, "basecaller_results", Path(entry["bam_filepath"]).name[:-4] + ".basecaller.bam")
            assert unaligned.is_file()
        runinfo = start["runinfo"]
        for key in ("raw_data_dir", "report_root_dir", "analysis_dir", "sigproc_dir", "basecaller_dir",
                    "alignment_dir"):
            assert Path(runinfo[key]).is_dir(), (rep.pk, key)
        for key in ("bedfile", "regionfile"):
            if start["plan"].get(key):
                assert Path(start["plan"][key]).is_file()


def test_the_ampliseq_run_names_its_panel_beds(reports):
    targeted = [(rep, barcodes) for rep, barcodes, _start in reports.values() if rep.eas.get("barcodeKitName")]
    assert len(targeted) == 1
    rep, barcodes = targeted[0]
    assert len(barcodes) == 4
    for entry in barcodes.values():
        assert Path(entry["target_region_filepath"]).name == f"{PANEL}.bed"
        assert Path(entry["hotspot_filepath"]).name == f"{PANEL}_Hotspots.bed"
    bed = Path(rep.eas["targetRegionBedFile"]).read_text().splitlines()
    assert bed[0].startswith("track") and len(bed) == len(amplicons()) + 1


def test_beds_are_content_of_the_bed_publisher(reader):
    contents = reader.get("/rundb/api/v1/content/").json()["objects"]
    publisher = reader.get("/rundb/api/v1/publisher/BED/").json()
    files = {Path(c["file"]).name: c for c in contents}
    assert {f"{PANEL}.bed", f"{PANEL}_Hotspots.bed"} <= set(files)
    for content in files.values():
        assert content["publisher"] == publisher["resource_uri"]
        assert Path(content["file"]).is_file()
        assert content["file"].endswith(content["path"])


def test_reference_genomes_are_real_and_served(shared_app, reports):
    client = Client(shared_app, admin_headers(shared_app))
    genomes = client.get("/rundb/api/v1/referencegenome/?short_name__startswith=demo_").json()["objects"]
    assert {g["short_name"] for g in genomes} == {"demo_ecoli", "demo_hg"}
    for genome in genomes:
        fasta = Path(genome["reference_path"]) / f"{genome['short_name']}.fasta"
        assert fasta.is_file() and fasta.is_relative_to(shared_app.settings.data_path / "referenceLibrary")
    for _rep, barcodes, _start in reports.values():
        for entry in barcodes.values():
            served = client.get(entry["genome_urlpath"])
            assert served.status == 200 and served.body == Path(entry["reference_fullpath"]).read_bytes()


def test_bams_are_sorted_indexed_and_on_the_reference(reports):
    for rep, barcodes, _start in reports.values():
        for name, entry in barcodes.items():
            fasta = pysam.FastaFile(entry["reference_fullpath"])
            with pysam.AlignmentFile(entry["bam_filepath"]) as bam:
                assert bam.header["HD"]["SO"] == "coordinate" and bam.has_index()
                assert dict(zip(bam.references, bam.lengths)) == dict(zip(fasta.references, fasta.lengths))
                mapped = sum(s.mapped for s in bam.get_index_statistics())
                assert mapped > 0.95 * entry["read_count"]
                mismatches = bases = 0
                last = (-1, -1)
                for read in bam.fetch(until_eof=True):
                    if read.is_unmapped:
                        continue
                    here = (read.reference_id, read.reference_start)
                    assert here >= last, (name, read.query_name)
                    last = here
                    assert read.get_tag("RG") == bam.header["RG"][0]["ID"]
                    ref = fasta.fetch(read.reference_name, read.reference_start, read.reference_end)
                    for qpos, rpos in read.get_aligned_pairs(matches_only=True):
                        bases += 1
                        mismatches += read.query_sequence[qpos] != ref[rpos - read.reference_start]
                assert mismatches / bases < 0.03, (name, mismatches / bases)
                for contig in bam.references:  # the index answers region queries
                    assert bam.count(contig) == sum(1 for _ in bam.fetch(contig))


def _bam_stats(path: str) -> dict:
    lengths, q20, reads = 0, 0, 0
    with pysam.AlignmentFile(path, check_sq=False) as bam:
        for read in bam.fetch(until_eof=True):
            reads += 1
            lengths += read.query_length
            q20 += sum(1 for q in read.query_qualities if q >= 20)
    return {"reads": reads, "bases": lengths, "q20": q20}


def test_metrics_agree_with_the_files(shared_app, reports):
    for pk, (rep, _barcodes, _start) in reports.items():
        datasets = json.loads(Path(rep.dir, "basecaller_results", "datasets_basecaller.json").read_text())
        total_reads = total_bases = mapped = 0
        for dataset in datasets["datasets"]:
            group = datasets["read_groups"][dataset["read_groups"][0]]
            stats = _bam_stats(str(Path(rep.dir, "basecaller_results", dataset["basecaller_bam"])))
            assert stats["reads"] == dataset["read_count"] == group["read_count"], dataset["file_prefix"]
            assert stats["bases"] == group["total_bases"] and stats["q20"] == group["Q20_bases"]
            aligned = pysam.AlignmentFile(str(Path(rep.dir, dataset["file_prefix"] + ".bam")))
            assert sum(1 for _ in aligned.fetch(until_eof=True)) == stats["reads"]
            mapped += aligned.mapped
            total_reads += stats["reads"]
            total_bases += stats["bases"]
        lib, quality = _one(shared_app, "libmetrics", pk), _one(shared_app, "qualitymetrics", pk)
        analysis = _one(shared_app, "analysismetrics", pk)
        assert lib["totalNumReads"] == quality["q0_reads"] == analysis["libFinal"] == total_reads
        assert int(quality["q0_bases"]) == total_bases
        assert quality["q0_mean_read_length"] == pytest.approx(total_bases / total_reads, abs=1e-5)
        assert int(lib["total_mapped_reads"]) == mapped
        summary = Path(rep.dir, "alignment_barcode_summary.csv")
        if summary.is_file():
            for row in csv.DictReader(summary.open()):
                bam = pysam.AlignmentFile(str(Path(rep.dir, f"{row['Barcode ID']}_rawlib.bam")))
                assert int(row["Mapped Reads"]) == bam.mapped
        ionstats = json.loads(Path(rep.dir, "basecaller_results", "ionstats_basecaller.json").read_text())
        assert ionstats["full"]["num_reads"] == total_reads and ionstats["full"]["num_bases"] == total_bases


def test_planted_variants_are_in_the_reads(reports):
    """A caller finds something: reads of NA12878 carry SNV1 on (nearly) every read, as planted."""
    snv = next(v for v in variants() if v.name == "SNV1")
    for rep, barcodes, _start in reports.values():
        entry = barcodes.get("IonXpress_001")
        if entry is None:
            continue
        with pysam.AlignmentFile(entry["bam_filepath"]) as bam:
            counts = bam.count_coverage(snv.contig, snv.pos, snv.pos + 1, quality_threshold=0)
        alt = counts["ACGT".index(snv.alt)][0]
        assert alt > 0.8 * sum(c[0] for c in counts)
