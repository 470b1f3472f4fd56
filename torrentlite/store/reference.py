"""Reference rows a fresh Torrent Server ships with: chips, kits, barcodes, run types, templates."""
from __future__ import annotations

import random
import uuid
from datetime import datetime, timezone
from pathlib import Path
from typing import Iterator, Optional

Row = tuple[str, dict]

# Values below follow the published rundb examples and the public Torrent Suite fixtures.
INSTALL_DATE = datetime(2017, 4, 10, 4, 56, 23, 977000, tzinfo=timezone.utc)
DEFAULT_RESULTS_ROOT = Path("/results")
P1B_ADAPTER = "ATCACCGACTGCCCATAGAGAGGCTGAGAC"
PROTON_CHIPS = "900;P1.0.19;P1.0.20;P1.1.17;P1.1.541;P1.2.18;P2.0.1;P2.1.1;P2.1.2;P2.3.1"

# (name, description, instrumentType, isActive)
CHIPS = (
    ("314", "314v2", "pgm", True),
    ("316", "316", "pgm", False),
    ("318", "318v2", "pgm", True),
    ("314v2", "314v2", "pgm", False),
    ("316v2", "316v2", "pgm", True),
    ("318v2", "318v2", "pgm", False),
    ("520", "520", "S5", True),
    ("530", "530", "S5", True),
    ("540", "540", "S5", True),
    ("900", "PI", "proton", False),
    ("P1.1.17", "PI", "proton", True),
    ("550", "550", "S5", True),
    ("318select", "318 Select", "pgm", False),
    ("318D", "318D", "pgm", True),
    ("510", "510", "S5", True),
)

# (name, description, isActive, isDefault, flowOrder)
FLOW_ORDERS = (
    ("Ion samba", "Ion default samba flow order", True, True,
     "TACGTACGTCTGAGCATCGATCGATGTACAGC"),
    ("Ion samba.gafieira", "Ion samba.gafieira flow order", True, False,
     "TACGTACGTCTGAGCATCGATCGATGTACAGCTGACTGACTATCGCAGAGCTAGCTACATGTCGACTGACTGATAGCGTCATGCATG"
     "CAGACTCGTCGTACGTACTCAGATGCTAGCTAGCACGTGATCAGTCAGTCGCTATGAGTCAGTCAGCGATACTGCATGCATGAGTC"
     "TACGATCGATCGTGCACTA"),
    ("Ion contradanzon", "Ion contradanzon flow order", False, False,
     "TACGTACGTAGCTTGACGTACGTCATGCATCGATCAGCTAAGCTGACGTAGCTAGCATCGATCCAGTCATGACTGACGTAGCTGAC"
     "TGGATCAGTCATGCATCG"),
)

# (uid, name, description, direction, runMode, isDefault, chemistryType, sequence)
ADAPTERS = (
    ("FWD_0001", "Ion P1B", "Default forward adapter", "Forward", "single", True, "", P1B_ADAPTER),
    ("REV_0001", "Ion Paired End Rev", "Default reverse adapter", "Reverse", "pe", True, "",
     "CTGAGTCGGAGACACGCAGGGATGAGATGG"),
    ("FWD_0002", "Ion B", "Ion B", "Forward", "single", False, "", "CTGAGACTGCCAAGGCACACAGGGGATAGG"),
    ("FWD_0003", "Ion Truncated Fusion", "Ion Truncated Fusion", "Forward", "single", False, "",
     "ATCACCGACTGCCCATCTGAGACTGCCAAG"),
    ("FWD_0004", "Ion Paired End Fwd", "Ion Paired End Fwd", "Forward", "pe", False, "",
     "GCTGAGGATCACCGACTGCCCATAGAGAGG"),
    ("FWD_0005", "MuSeek/P1B adapter", "MuSeek/P1B adapter", "Forward", "single", False, "",
     "TGAACTGACGCACGAAATCACCGACTGCCCATAGAGAGGCTGAGAC"),
    ("FWD_0006", "Ion P1", "Ion P1 3 prime adapter used with Avalanche templating", "Forward",
     "single", True, "avalanche", "ATCACCGACTGCCCATAGAGAGGAAAGCGG"),
    ("FWD_0007", "Ion Xpress MuSeek adapter", "Ion Xpress MuSeek adapter", "Forward", "single",
     False, "", "TGCACTGAAGCACACAATCACCGACTGCCC"),
)

# IonXpress barcodes 1-96 in index order (adapter GAT), as published by Ion Torrent.
IONXPRESS = (
    "CTAAGGTAAC TAAGGAGAAC AAGAGGATTC TACCAAGATC CAGAAGGAAC CTGCAAGTTC TTCGTGATTC TTCCGATAAC "
    "TGAGCGGAAC CTGACCGAAC TCCTCGAATC TAGGTGGTTC TCTAACGGAC TTGGAGTGTC TCTAGAGGTC TCTGGATGAC "
    "TCTATTCGTC AGGCAATTGC TTAGTCGGAC CAGATCCATC TCGCAATTAC TTCGAGACGC TGCCACGAAC AACCTCATTC "
    "CCTGAGATAC TTACAACCTC AACCATCCGC ATCCGGAATC TCGACCACTC CGAGGTTATC TCCAAGCTGC TCTTACACAC "
    "TTCTCATTGAAC TCGCATCGTTC TAAGCCATTGTC AAGGAATCGTC CTTGAGAATGTC TGGAGGACGGAC TAACAATCGGC "
    "CTGACATAATC TTCCACTTCGC AGCACGAATC CTTGACACCGC TTGGAGGCCAGC TGGAGCTTCCTC TCAGTCCGAAC "
    "TAAGGCAACCAC TTCTAAGAGAC TCCTAACATAAC CGGACAATGGC TTGAGCCTATTC CCGCATGGAAC CTGGCAATCCTC "
    "CCGGAGAATCGC TCCACCTCCTC CAGCATTAATTC TCTGGCAACGGC TCCTAGAACAC TCCTTGATGTTC TCTAGCTCTTC "
    "TCACTCGGATC TTCCTGCTTCAC CCTTAGAGTTC CTGAGTTCCGAC TCCTGGCACATC CCGCAATCATC TTCCTACCAGTC "
    "TCAAGAAGTTC TTCAATTGGC CCTACTGGTC TGAGGCTCCGAC CGAAGGCCACAC TCTGCCTGTC CGATCGGTTC "
    "TCAGGAATAC CGGAAGAACCTC CGAAGCGATTC CAGCCAATTCTC CCTGGTTGTC TCGAAGGCAGGC CCTGCCATTCGC "
    "TTGGCATCTC CTAGGACATTC CTTCCATAAC CCAGCCTCAAC CTTGGTTATTC TTGGCTGGAC CCGAACACTTC "
    "TCCTGAATCTC CTAACCACGGC CGGAAGGATGC CTAGGAACCGC CTTGTCCAATC TCCGACAAGC CGGACAGATC TTAAGCGGTC"
).split()
IONXPRESS_RNA_ADAPTER = "GGCCAAGGCG"

# (id, uid, name, description)
APPLICATION_GROUPS = (
    (1, "APPLGROUP_0001", "DNA", "DNA"),
    (2, "APPLGROUP_0002", "RNA", "RNA"),
    (7, "APPLGROUP_0007", "onco_liquidBiopsy", "Oncology - Liquid Biopsy"),
)

# (id, runType, description, alternate_name, nucleotideType, applicationGroups)
RUN_TYPES = (
    (1, "GENS", "Generic Sequencing", "Other", "", (1,)),
    (2, "AMPS", "AmpliSeq DNA", "AmpliSeq DNA", "dna", (1,)),
    (3, "TARS", "TargetSeq", "TargetSeq", "dna", (1,)),
    (4, "WGNM", "Whole Genome", "Whole Genome", "dna", (1,)),
    (5, "RNA", "RNA Sequencing", "RNA Sequencing", "rna", (2,)),
    (6, "AMPS_RNA", "AmpliSeq RNA", "AmpliSeq RNA", "rna", (2,)),
    (7, "AMPS_EXOME", "AmpliSeq Exome", "AmpliSeq Exome", "dna", (1,)),
    (8, "TAG_SEQUENCING", "Tag Sequencing", "Tag Sequencing", "dna", (7,)),
)

# (id, kitType, name, description, instrumentType, samplePrep_instrumentType, isActive,
#  flowCount, categories, chipTypes, nucleotideType)
KITS = (
    (20001, "SequencingKit", "IonSeqKit", "(100bp) Ion Sequencing Kit", "pgm", "", False, 260,
     "readLengthDerivableFromFlows;", "", ""),
    (20005, "LibraryKit", "IonFragmentLibKit2", "Ion Fragment Library Kit", "", "", True, 0, "", "", "dna"),
    (20008, "LibraryKit", "Ion Xpress Plus Fragment Library Kit", "Ion Xpress Plus Fragment Library Kit",
     "", "", True, 0, "", "", "dna"),
    (20010, "LibraryKit", "Ion Plus Paired-End Library Kit", "Ion Plus Paired-End Library Kit", "", "",
     False, 0, "", "", "dna"),
    (20013, "LibraryKit", "Ion Total RNA Seq Kit", "Ion Total RNA Seq Kit", "", "", True, 0,
     "bcShowSubset;bcRequired;", "", "rna"),
    (20015, "LibraryKit", "Ion AmpliSeq Kit", "Ion AmpliSeq Kit", "", "", True, 0, "", "", "dna"),
    (20027, "ControlSequenceKit", "ERCC RNA Spike-In Mix", "ERCC RNA Spike-In Mix 1", "", "", True, 0,
     "", "", "rna"),
    (20029, "SamplePrepKit", "Ion TargetSeq(tm) Exome Kit (48 rxn)", "Ion TargetSeq Exome Kit (48 rxn)",
     "", "", True, 0, "", "", ""),
    (20033, "SequencingKit", "IonPGM200Kit-v2", "Ion PGM Sequencing 200 Kit v2", "pgm", "", False, 500,
     "readLengthDerivableFromFlows;", "", ""),
    (20034, "TemplatingKit", "Ion PGM Template OT2 200 Kit", "Ion PGM Template OT2 200 Kit", "pgm", "OT",
     False, 500, "", "", ""),
    (20037, "ControlSequenceKit", "Ion PGM Controls Kit v2", "Ion PGM Controls Kit v2", "pgm", "", False,
     0, "", "", ""),
    (20038, "TemplatingKit", "Ion PI Template OT2 200 Kit", "Ion PI Template OT2 200 Kit", "proton", "OT",
     False, 0, "", PROTON_CHIPS, ""),
    (20040, "LibraryKit", "Ion AmpliSeq RNA Library Kit", "Ion AmpliSeq RNA Library Kit", "", "", True, 0,
     "", "", "rna"),
    (20042, "IonChefPrepKit", "ION PGM IC 200 KIT", "ION PGM IC 200 KIT", "pgm", "IC", False, 0, "", "", ""),
    (20049, "SequencingKit", "ProtonI200Kit-v3", "Ion PI Sequencing 200 Kit v3", "proton", "", True, 520,
     "readLengthDerivableFromFlows;", PROTON_CHIPS, ""),
    (20050, "TemplatingKit", "Ion PI Template OT2 200 Kit v3", "Ion PI Template OT2 200 Kit v3", "proton",
     "OT", True, 0, "", PROTON_CHIPS, ""),
    (20053, "LibraryKit", "Ion PI Controls Kit v2", "Ion PI Controls Kit v2", "proton", "", True, 0, "",
     PROTON_CHIPS, ""),
    (20056, "SequencingKit", "IonPGMIC200Kit", "Ion PGM IC 200 Sequencing Kit", "pgm", "IC", True, 500,
     "readLengthDerivableFromFlows;", "", ""),
    (20066, "LibraryKit", "Ion AmpliSeq Exome RDY - IC Kit 4x2", "Ion AmpliSeq Exome RDY - IC Kit 4x2",
     "proton", "", True, 0, "", "", ""),
    (20068, "LibraryKit", "Ion AmpliSeq Library Kit Plus", "Ion AmpliSeq Library Kit Plus", "", "", True, 0,
     "", "", ""),
    (20070, "IonChefPrepKit", "Ion PROTON IC v2 Universal", "Ion PI Hi-Q Chef Kit", "proton", "IC", True, 0,
     "supportLibraryReadLength;samplePrepProtocol;protonRnaWTSamplePrep", PROTON_CHIPS, ""),
    (20071, "SequencingKit", "IonProtonIHiQ", "Ion PI Hi-Q Sequencing 200 Kit", "proton", "OT_IC_IA", True,
     520, "readLengthDerivableFromFlows;", PROTON_CHIPS, ""),
    (20079, "SequencingKit", "IonPGMSelectKit", "Ion PGM Select Sequencing Kit", "pgm", "OT_IC", True, 500,
     "", "", ""),
    (20080, "LibraryKit", "Ion PGM Select Library Kit", "Ion PGM Select Library Kit", "pgm", "", True, 0, "",
     "", ""),
    (20081, "TemplatingKit", "Ion PGM OneTouch Select Template Kit", "Ion OneTouch Select Template Kit",
     "pgm", "OT", True, 0, "", "", ""),
    (20082, "IonChefPrepKit", "Ion Chef S530 V1", "Ion 520 & Ion 530 Kit-Chef", "S5", "IC", True, 0,
     "s5v1Kit;", "520;530", ""),
    (20083, "IonChefPrepKit", "Ion Chef S540 V1", "Ion 540 Kit-Chef", "S5", "IC", True, 500,
     "s5v1Kit;samplePrepProtocol;s5RnaWTSamplePrep;", "540;541v2;560;GX5v2", ""),
    (20085, "TemplatingKit", "Ion 520/530 Kit-OT2", "Ion 520 & Ion 530 Kit - OT2", "S5", "OT", True, 0,
     "s5v1Kit;flowOverridable;multipleReadLength;", "520;530", ""),
    (20086, "LibraryPrepKit", "Ampliseq DNA V1", "Ion AmpliSeq Kit for Chef DL8", "", "IC", True, 0, "", "",
     ""),
    (20088, "SequencingKit", "Ion S5 Sequencing Kit", "Ion S5 Sequencing Kit", "S5", "", True, 500,
     "s5v1Kit;flowOverridable;", "", ""),
)
KIT_UIDS = {
    20001: "SEQ0001", 20005: "LIB0002", 20008: "LIB0004", 20010: "LIB0006", 20013: "LIB0009",
    20015: "LIB0011", 20027: "CONSEQ0002", 20029: "SPREP0004", 20033: "SEQ0009", 20034: "TEMPLT0003",
    20037: "CONSEQ0003", 20038: "TEMPLT0005", 20040: "LIB0013", 20042: "ICPREP0001", 20049: "SEQ0014",
    20050: "TEMPLT0008", 20053: "LIB0016", 20056: "SEQ0016", 20066: "LIB0018", 20068: "LIB0019",
    20070: "ICPREP0004", 20071: "SEQ0020", 20079: "SEQ0022", 20080: "LIB0021", 20081: "TEMPLT0013",
    20082: "ICPREP0005", 20083: "ICPREP0006", 20085: "TEMPLT0015", 20086: "LPREP0001", 20088: "SEQ0023",
}
KIT_READ_LENGTHS = {20070: 200, 20082: 200, 20083: 200, 20085: 200}

# (id, kit, barcode): only the part numbers the published examples show.
KIT_PARTS = (
    (20074, 20038, "4482286"), (20081, 20038, "4482287"), (20082, 20038, "4482288"),
    (20083, 20038, "4482289"), (20084, 20038, "4482297"), (20086, 20042, "100020580"),
)

# (qcName, minThreshold, maxThreshold, defaultThreshold)
QC_TYPES = (
    ("Bead Loading (%)", 0, 100, 30),
    ("Key Signal (1-100)", 1, 100, 30),
    ("Usable Sequence (%)", 0, 100, 30),
)

# (short_name, name, species, version)
REFERENCE_GENOMES = (
    ("e_coli_dh10b", "E. coli DH10B", "", "1"),
    ("hg19", "hg19", "Homo sapiens", "hg19"),
    ("mm10", "mm10", "Mus musculus", "mm10"),
)
TMAP_INDEX_VERSION = "tmap-f3"

# (id, uid, displayedName, iRValue, iRAnnotationType, isIRCompatible, annotation values)
SAMPLE_GROUPS = (
    (1, "SAMPLEGROUP_CV_0001", "Sample_Control", "Paired_Sample|Sample_Control", "RelationshipType", True,
     ("Sample", "Control")),
    (2, "SAMPLEGROUP_CV_0002", "Self", None, None, True, ("Self",)),
    (3, "SAMPLEGROUP_CV_0003", "Tumor_Normal", None, None, True, ("Tumor", "Normal")),
    (4, "SAMPLEGROUP_CV_0004", "Trio", None, None, True, ("Father", "Mother", "Proband")),
)

# (runType, applicationGroup, planName, displayed name, chip, flows, seq kit, templating kit,
#  library kit, reference, barcode kit, readLength)
PLAN_TEMPLATES = (
    ("GENS", 1, "Generic_Sequencing", "Generic Sequencing", "530", 500, "Ion S5 Sequencing Kit",
     "Ion Chef S530 V1", "Ion Xpress Plus Fragment Library Kit", "hg19", "", 200),
    ("AMPS", 1, "Ion_AmpliSeq_DNA", "Ion AmpliSeq DNA", "530", 500, "Ion S5 Sequencing Kit",
     "Ion Chef S530 V1", "Ion AmpliSeq Library Kit Plus", "hg19", "IonXpress", 200),
    ("WGNM", 1, "Whole_Genome", "Whole Genome", "540", 500, "Ion S5 Sequencing Kit", "Ion Chef S540 V1",
     "Ion Xpress Plus Fragment Library Kit", "hg19", "", 200),
    ("TARS", 1, "TargetSeq", "TargetSeq", "P1.1.17", 520, "ProtonI200Kit-v3",
     "Ion PI Template OT2 200 Kit v3", "Ion Xpress Plus Fragment Library Kit", "hg19", "IonXpress", 200),
    ("AMPS_RNA", 2, "Ion_AmpliSeq_RNA", "Ion AmpliSeq RNA", "530", 500, "Ion S5 Sequencing Kit",
     "Ion Chef S530 V1", "Ion AmpliSeq RNA Library Kit", "hg19", "IonXpress", 200),
    ("RNA", 2, "Whole_Transcriptome", "Ion Whole Transcriptome", "540", 500, "Ion S5 Sequencing Kit",
     "Ion Chef S540 V1", "Ion Total RNA Seq Kit", "hg19", "IonXpressRNA", 200),
    ("GENS", 1, "E_coli_DH10B_Control", "E. coli DH10B Control 200", "316v2", 500, "IonPGM200Kit-v2",
     "Ion PGM Template OT2 200 Kit", "Ion Xpress Plus Fragment Library Kit", "e_coli_dh10b", "", 200),
)
PLATFORMS = {"pgm": "PGM", "proton": "PROTON", "S5": "S5"}


def reference_rows(results_root: Optional[Path] = None) -> Iterator[Row]:
    """Yield (table, row) for a fresh server; results_root replaces the /results layout if given."""
    root = Path(results_root) if results_root is not None else DEFAULT_RESULTS_ROOT
    yield from _chip_rows()
    yield from _sequence_rows()
    yield from _barcode_rows()
    yield from _application_rows()
    yield from _kit_rows()
    yield from _qc_rows()
    yield from _genome_rows()
    yield from _sample_vocabulary_rows()
    yield from _site_rows(root)
    yield from _analysisargs_rows()
    yield from _plan_template_rows()


def chip_platform(chip_name: str) -> str:
    """The experiment platform ("PGM", "PROTON", "S5") of a shipped chip type."""
    for name, _desc, instrument, _active in CHIPS:
        if name == chip_name:
            return PLATFORMS[instrument]
    raise KeyError(chip_name)


def _chip_rows() -> Iterator[Row]:
    for pk, (name, description, instrument, active) in enumerate(CHIPS, start=1):
        yield "chip", {"id": pk, "name": name, "description": description, "instrumentType": instrument,
                       "isActive": active, "slots": 1, "earlyDatFileDeletion": ""}


def _sequence_rows() -> Iterator[Row]:
    for pk, (name, description, active, default, order) in enumerate(FLOW_ORDERS, start=1):
        yield "floworder", {"id": pk, "name": name, "description": description, "flowOrder": order,
                            "isActive": active, "isDefault": default, "isSystem": True}
    yield "librarykey", {"id": 1, "name": "Ion TCAG", "sequence": "TCAG", "direction": "Forward",
                         "description": "Default forward library key", "runMode": "single", "isDefault": True}
    for pk, (uid, name, desc, direction, mode, default, chem, seq) in enumerate(ADAPTERS, start=1):
        yield "threeprimeadapter", {"id": pk, "uid": uid, "name": name, "description": desc,
                                    "direction": direction, "runMode": mode, "isDefault": default,
                                    "isActive": True, "chemistryType": chem, "sequence": seq}
    yield "template", {"id": 1, "name": "TF_1", "key": "ATCG", "isofficial": True, "comments": " ",
                       "sequence": "GAATAATCCAGCCCGCCAGGCATGGAAGAGCGTCGTAAAGTATTGCAGGTTCAGGCGGCGGAAAGCGTGATTGA"
                                   "CTACTGGCAAATAAAGTACGTTCCACCTTTGACACCATTTTCCGTAGTGAACTGACGCTGCCAAACGCC"
                                   "GACCGCG"}
    yield "template", {"id": 2, "name": "TF_C", "key": "ATCG", "isofficial": True, "comments": " ",
                       "sequence": TF_C_SEQUENCE}


TF_C_SEQUENCE = ("TACGAGCGTGTAGACGTGTCGTACGTGCGACGTAGTGAGTATACATGCTCTGACACTATGTACGATCTGAGACTGCCAAGG"
                 "CACACAGGGGATAGG")


def barcode_sets() -> dict[str, list[tuple[int, str, str, str]]]:
    """Barcode kits by name: [(index, sequence, adapter, type)]."""
    return {
        "IonXpress": [(i, seq, "GAT", "") for i, seq in enumerate(IONXPRESS, start=1)],
        "IonXpressRNA": [(i, seq, IONXPRESS_RNA_ADAPTER, "rna") for i, seq in enumerate(IONXPRESS[:16], 1)],
        "RNA_Barcode_None": [(1, IONXPRESS_RNA_ADAPTER, "", "rna")],
        "MuSeek_5prime_tag": [(1, "TTCA", "", "none")],
    }


def _barcode_rows() -> Iterator[Row]:
    pk = 0
    for kit, entries in barcode_sets().items():
        for index, sequence, adapter, kind in entries:
            pk += 1
            yield "dnabarcode", {"id": pk, "name": kit, "id_str": f"{kit}_{index:03d}", "index": index,
                                 "sequence": sequence, "length": len(sequence), "adapter": adapter,
                                 "type": kind, "annotation": "", "floworder": "", "score_mode": 1,
                                 "score_cutoff": 2.0, "active": True}


def _application_rows() -> Iterator[Row]:
    for pk, uid, name, description in APPLICATION_GROUPS:
        yield "applicationgroup", {"id": pk, "uid": uid, "name": name, "description": description,
                                   "isActive": True}
    for pk, run_type, description, alternate, nucleotide, groups in RUN_TYPES:
        yield "runtype", {"id": pk, "runType": run_type, "description": description,
                          "alternate_name": alternate, "nucleotideType": nucleotide, "barcode": "",
                          "meta": {}, "isActive": True, "applicationGroups": list(groups)}


def kit_id(name: str) -> int:
    """The pk of a shipped kit, by name."""
    for row in KITS:
        if row[2] == name:
            return row[0]
    raise KeyError(name)


def _kit_rows() -> Iterator[Row]:
    for pk, kind, name, desc, instrument, prep, active, flows, categories, chips, nucleotide in KITS:
        yield "kitinfo", {"id": pk, "uid": KIT_UIDS[pk], "kitType": kind, "name": name, "description": desc,
                          "instrumentType": instrument, "samplePrep_instrumentType": prep, "isActive": active,
                          "flowCount": flows, "categories": categories, "chipTypes": chips,
                          "nucleotideType": nucleotide, "runMode": "", "applicationType": "",
                          "templatingSize": "", "libraryReadLength": KIT_READ_LENGTHS.get(pk, 0),
                          "defaultFlowOrder": None}
    for pk, kit, barcode in KIT_PARTS:
        yield "kitpart", {"id": pk, "kit": kit, "barcode": barcode}
    yield "applproduct", _applproduct(20001, "GENS_default", "GENS", 1, 1, "pgm", 500, "")
    yield "applproduct", _applproduct(20021, "AMPS_RNA_S5_S5XL_default", "AMPS_RNA_2", 6, 2, "s5", 500,
                                      "RNA_Barcode_None")


def _applproduct(pk: int, name: str, code: str, appl: int, group: int, instrument: str, flows: int,
                 barcode_kit: str) -> dict:
    return {"id": pk, "productName": name, "productCode": code, "appl": appl, "applicationGroup": group,
            "instrumentType": instrument, "defaultFlowCount": flows, "defaultBarcodeKitName": barcode_kit,
            "isActive": True, "isDefault": True, "isVisible": False, "isDefaultForInstrumentType": True,
            "defaultGenomeRefName": "", "defaultTargetRegionBedFileName": "",
            "defaultHotSpotRegionBedFileName": "", "description": "", "categories": ""}


def _qc_rows() -> Iterator[Row]:
    for pk, (name, low, high, default) in enumerate(QC_TYPES, start=1):
        yield "qctype", {"id": pk, "qcName": name, "description": "", "minThreshold": low,
                         "maxThreshold": high, "defaultThreshold": default}


def reference_path(short_name: str) -> str:
    """Where the Torrent Server keeps a reference's index (metadata only; no FASTA is shipped)."""
    return f"/results/referenceLibrary/{TMAP_INDEX_VERSION}/{short_name}"


def _genome_rows() -> Iterator[Row]:
    for pk, (short, name, species, version) in enumerate(REFERENCE_GENOMES, start=1):
        yield "referencegenome", {"id": pk, "short_name": short, "name": name, "species": species,
                                  "version": version, "index_version": TMAP_INDEX_VERSION, "status": "complete",
                                  "enabled": True, "reference_path": reference_path(short), "notes": "",
                                  "source": "", "celery_task_id": "", "verbose_error": "",
                                  "identity_hash": None, "date": INSTALL_DATE}


def _sample_vocabulary_rows() -> Iterator[Row]:
    yield "common_cv", {"id": 1, "uid": "CV0001", "cv_type": "samplePrepProtocol", "value": "anneal62no10xab",
                        "displayedValue": "Ion PGM Hi-Q Chef for STR",
                        "description": "Use Ion Chef script protocol optimized for HID",
                        "categories": "hidSamplePrep", "samplePrep_instrumentType": "IC",
                        "sequencing_instrumentType": "", "isVisible": True, "isActive": True,
                        "isDefault": False}
    annotation_pk = 0
    for pk, uid, name, ir_value, ir_type, compatible, roles in SAMPLE_GROUPS:
        yield "samplegrouptype_cv", {"id": pk, "uid": uid, "displayedName": name, "description": "",
                                     "iRValue": ir_value, "iRAnnotationType": ir_type,
                                     "isIRCompatible": compatible, "isActive": True}
        for role in roles:
            annotation_pk += 1
            yield "sampleannotation_cv", {"id": annotation_pk, "uid": f"SAMPLEANNOTATE_CV_{annotation_pk:04d}",
                                          "annotationType": "relationshipRole", "value": role,
                                          "iRValue": role, "iRAnnotationType": "Relation",
                                          "isIRCompatible": True, "isActive": True, "sampleGroupType_CV": pk}
    yield "sampleattributedatatype", {"id": 1, "dataType": "Text", "description": "Up to 1024 characters",
                                      "isActive": True}
    yield "sampleattributedatatype", {"id": 2, "dataType": "Integer", "description": "Whole number",
                                      "isActive": True}


def _site_rows(root: Path) -> Iterator[Row]:
    yield "location", {"id": 1, "name": "Home", "defaultlocation": True, "comments": ""}
    yield "location", {"id": 2, "name": "Disabled", "defaultlocation": False,
                       "comments": "A location which will not be assigned to any File Servers so that Rigs "
                                   "assigned to this location will not be treated as valid Rigs."}
    yield "rig", {"name": "default", "location": 1, "comments": "This is a model PGM.  Do not delete.",
                  "version": {}, "alarms": {}, "updateCommand": {}, "serial": None}
    yield "fileserver", {"id": 1, "name": "Home", "filesPrefix": f"{root}/", "comments": "",
                         "percentfull": 0.0}
    yield "reportstorage", {"id": 1, "name": "Home", "webServerPath": "/output",
                            "dirPath": str(root / "analysis" / "output"), "default": True}
    yield "globalconfig", {
        "id": 1, "name": "Config", "site_name": "Torrent Server", "web_root": "",
        "default_library_key": "TCAG", "default_test_fragment_key": "ATCG", "default_flow_order": "TACG",
        "plugin_output_folder": "plugin_out", "records_to_display": 20, "default_storage_options": "A",
        "base_recalibration_mode": "standard_recal", "realign": False, "mark_duplicates": False,
        "selected": False, "enable_version_lock": False, "enable_support_upload": False,
        "enable_compendia_OCP": True, "auto_archive_ack": False, "auto_archive_enable": True,
        "enable_auto_security": True, "enable_nightly_email": False, "check_news_posts": True,
        "cluster_auto_disable": True, "enable_auto_pkg_dl": True, "ts_update_status": "",
        "sec_update_status": ""}


def chip_args(chip_name: str) -> dict:
    """The chip-default analysis command lines (the keys the chip resource merges in)."""
    return {
        "beadfindargs": f"justBeadFind --args-json /opt/ion/config/args_{chip_name}_beadfind.json",
        "analysisargs": f"Analysis --args-json /opt/ion/config/args_{chip_name}_analysis.json",
        "prebasecallerargs": "BaseCaller --barcode-filter 0.01 --barcode-filter-minreads 20",
        "basecallerargs": "BaseCaller --barcode-filter 0.01 --barcode-filter-minreads 20",
        "calibrateargs": "Calibration",
        "alignmentargs": "tmap mapall ... stage1 map4",
        "ionstatsargs": "ionstats alignment",
        "thumbnailbeadfindargs": "", "thumbnailanalysisargs": "", "prethumbnailbasecallerargs": "",
        "thumbnailbasecallerargs": "", "thumbnailcalibrateargs": "", "thumbnailalignmentargs": "",
        "thumbnailionstatsargs": "",
    }


def _analysisargs_rows() -> Iterator[Row]:
    active_chips = [(name, desc) for name, desc, _instrument, active in CHIPS if active]
    for pk, (name, desc) in enumerate(active_chips, start=1):
        row = {"id": pk, "name": f"ion_default_{name}", "description": f"Ion {desc} chip analysis arguments",
               "chipType": name, "chip_default": True, "active": True, "isSystem": True,
               "sequenceKitName": "", "templateKitName": "", "libraryKitName": "", "samplePrepKitName": "",
               "creator": None, "lastModifiedUser": None, "applType": None, "applGroup": None,
               "creationDate": INSTALL_DATE, "lastModifiedDate": INSTALL_DATE}
        row.update(chip_args(name))
        yield "analysisargs", row


def short_id(rng: random.Random) -> str:
    """A five-character plan short id in the server's style (uppercase letters and digits)."""
    return "".join(rng.choice("ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789") for _ in range(5))


def plan_guid(rng: random.Random) -> str:
    """A deterministic UUID4 string drawn from rng."""
    return str(uuid.UUID(int=rng.getrandbits(128), version=4))


def _plan_template_rows() -> Iterator[Row]:
    rng = random.Random(20170410)
    qc_pk = 0
    for pk, spec in enumerate(PLAN_TEMPLATES, start=1):
        run_type, group, name, shown, chip, flows, seq_kit, tmpl_kit, lib_kit, ref, barcode_kit, length = spec
        guid, short = plan_guid(rng), short_id(rng)
        yield "plannedexperiment", {
            "id": pk, "planName": name, "planDisplayedName": shown, "planShortID": short, "planGUID": guid,
            "planStatus": "planned", "runType": run_type, "runMode": "single", "isReusable": True,
            "isSystem": True, "isSystemDefault": pk == 1, "isFavorite": False, "planExecuted": False,
            "templatingKitName": tmpl_kit, "libraryReadLength": length, "usePreBeadfind": True,
            "usePostBeadfind": False, "preAnalysis": True, "storage_options": "A", "metaData": {},
            "date": INSTALL_DATE, "planPGM": "", "expName": "", "irworkflow": "", "categories": "",
            "applicationGroup": group, "sampleGrouping": 2, "projects": [], "sampleSets": []}
        for qc_type, (_name, _low, _high, default) in enumerate(QC_TYPES, start=1):
            qc_pk += 1
            yield "plannedexperimentqc", {"id": qc_pk, "plannedExperiment": pk, "qcType": qc_type,
                                          "threshold": default}
        yield "experiment", {
            "id": pk, "expName": guid, "unique": guid, "displayName": short, "status": "planned",
            "chipType": chip, "flows": flows, "platform": chip_platform(chip), "sequencekitname": seq_kit,
            "expDir": "", "pgmName": "", "cycles": 0, "date": INSTALL_DATE, "runMode": "single",
            "notes": "", "storageHost": "", "ftpStatus": "", "log": {}, "metaData": {}, "plan": pk,
            "usePreBeadfind": False}
        yield "experimentanalysissettings", {
            "id": pk, "experiment": pk, "status": "planned", "isEditable": True, "date": INSTALL_DATE,
            "reference": ref, "barcodeKitName": barcode_kit, "libraryKitName": lib_kit, "libraryKey": "TCAG",
            "tfKey": "ATCG", "threePrimeAdapter": P1B_ADAPTER, "targetRegionBedFile": "",
            "hotSpotRegionBedFile": "", "sseBedFile": "", "barcodedSamples": {}, "selectedPlugins": {},
            "base_recalibration_mode": "standard_recal", "realign": False, "isDuplicateReads": False}
