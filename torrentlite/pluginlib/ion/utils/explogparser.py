"""Experiment log and analysis parameter parsing for plugins: parse_log, getparameter and friends."""
from __future__ import print_function

import datetime
import io
import json
import os
import re

__all__ = ["parse_log", "getparameter", "getparameter_minimal", "load_log", "load_log_path",
           "getBlocksFromExpLogDict", "getBlocksFromExpLogJson", "getFlowOrder", "extract_rig"]

try:
    _TEXT_TYPES = (str, unicode)  # noqa: F821  (Python 2.7)
except NameError:
    _TEXT_TYPES = (str,)


def _matching(pattern, coerce):
    regex = re.compile(pattern, re.I)

    def parse(text):
        match = regex.match(text)
        return None if match is None else coerce(match.group(1))
    return parse


def _ints(separator=None):
    return lambda text: [int(part) for part in text.split(separator)]


_yes_no = _matching(r"^(yes|no)$", lambda text: text.lower().startswith("y"))
_text = _matching(r"^(.*)$", lambda text: text)
_dotted = _matching(r"^((?:\d+\.)+\d+)$", _ints("."))
_kernel = _matching(r"^([#]\d+\s+\w+\s+\w{3}\s+\w{3}\s+\d+\s+\d{2}[:]\d{2}[:]\d{2}\s+\w{3}\s+\d{4})$",
                    lambda text: text)
_oversample = _matching(r"^\s*(\d+)\s*x*$", int)
_space_ints = _matching(r"^((?:\d+\s+)*\d+)$", _ints())
_three_ints = _matching(r"^((?:\d+\s+){2}\d+)$", _ints())
_eight_ints = _matching(r"^((?:\d+\s+){7}\d+)$", _ints())

# How the value of each known explog entry is read; every other entry stays text.
ENTRY_MAP = {
    "gain": float, "datacollect_version": int, "liveview_version": int, "firmware_version": int,
    "fpga_version": int, "driver_version": int, "script_version": _dotted, "board_version": int,
    "kernel_build": _kernel, "prerun": _yes_no, "cycles": int, "livechip": _yes_no,
    "continuous_clocking": _yes_no, "auto_cal": _yes_no, "frequency": int, "oversample": _oversample,
    "frame_time": float, "num_frames": int, "autoanalyze": _yes_no, "dac": float,
    "cal_chip_hist": _space_ints, "cal_chip_high_low_inrange": _three_ints, "prebeadfind": _yes_no,
    "flows": int, "analyzeearly": _yes_no,
}

_ENTRY = re.compile(r"^(?P<name>[^:]+)[:](?P<value>.*)$")
_NAME_CLEAN = re.compile(r"\s|[/]+")


def _printable(value):
    if isinstance(value, _TEXT_TYPES):
        return "".join(c for c in value if ord(c) > 31 or ord(c) == 9)
    return value


def _ascii(text):
    if isinstance(text, bytes):
        return text.decode("ascii", "ignore")
    return text.encode("ascii", "ignore").decode("ascii")


def parse_log(text):
    """The entries of an explog (`Name: value` lines) as a dict of lower-case, underscored names.

    Known entries are converted (numbers, yes/no as booleans, version and integer lists); a value that does
    not convert becomes None. `blocks` lists the BlockStatus lines and `block_*` entries, `thumbnails` the
    `thumbnail_*` entries.
    """
    if isinstance(text, bytes) and bytes is not str:
        text = text.decode("utf-8", "replace")
    entries = {}
    for line in text.split("\n"):
        match = _ENTRY.match(line)
        if match is None:
            continue
        name = _NAME_CLEAN.sub("_", match.group("name")).lower()
        value = _ascii(match.group("value").strip())
        try:
            entries[name] = _printable(ENTRY_MAP.get(name, _text)(value))
        except (ValueError, TypeError):
            entries[name] = None
        if name == "dac" and not entries["dac"]:
            # Older PGMs write eight integers instead of one float.
            entries["dac"] = _eight_ints(value)
    entries["blocks"] = [line.strip().replace("BlockStatus:", "") for line in text.split("\n")
                         if line.startswith("BlockStatus")]
    entries["thumbnails"] = []
    for key, value in list(entries.items()):
        if key.startswith("block_"):
            entries["blocks"].append(value)
        if key.startswith("thumbnail_"):
            entries["thumbnails"].append(value)
    return entries


def load_log(folder, logName):
    """The text of `<folder>/<logName>`, or None when it is missing, unreadable or empty."""
    path = os.path.join(folder, logName)
    if not os.path.isfile(path):
        return None
    try:
        with io.open(path, encoding="utf-8", errors="replace") as handle:
            text = handle.read()
    except (IOError, OSError):
        return None
    return text or None


def load_log_path(filepath):
    folder, name = os.path.split(filepath)
    return load_log(folder, name)


def _params(parameterfile):
    with io.open(parameterfile or "ion_params_00.json", encoding="utf-8") as handle:
        return json.load(handle)


def getparameter(parameterfile=None):
    """(env, warnings) from ion_params_00.json: the run's analysis parameters as the pipeline reads them.

    Missing reference name, library key, TF key and flow order get their defaults ("none", TCAG, ATCG,
    TACG) and a warning line each.
    """
    params = _params(parameterfile)
    warnings = ""
    env = {"params_file": parameterfile or "ion_params_00.json"}
    env["prefix"] = str(params["pathToData"])
    exp_json = params.get("exp_json")
    if exp_json and not isinstance(exp_json, dict):
        exp_json = json.loads(exp_json)
    exp_json = exp_json or {}
    env["exp_json"] = exp_json
    env["instrumentName"] = params.get("instrumentName", "unknownInstrument")
    log = exp_json.get("log") or {}
    if not isinstance(log, dict):
        log = json.loads(log)
    env["platform"] = params.get("platform") or "Unspecified"
    env["systemType"] = log.get("systemtype") or env["platform"]
    env["flows"] = params.get("flows")
    env["notes"] = exp_json.get("notes")
    env["start_time"] = log.get("start_time")
    env["blockArgs"] = params.get("blockArgs")
    env["doThumbnail"] = params.get("doThumbnail")
    for key in ("beadfindArgs", "analysisArgs", "basecallerArgs", "prebasecallerArgs", "recalibArgs",
                "ionstatsArgs"):
        env[key] = params.get(key, "")
    env["doBaseRecal"] = params.get("doBaseRecal", "no_recal")
    env["alignmentArgs"] = params.get("aligner_opts_extra", "")
    env["previousReport"] = params.get("previousReport", "")
    env["library"] = params.get("library", "unknownLibrary")
    env["referenceName"] = params.get("referenceName", "") if "referenceName" in params \
        else params.get("libraryName")
    if not env["referenceName"]:
        env["referenceName"] = "none"
        warnings += "WARNING: referenceName redefine required.  set to none\n"
    env["report_start_time"] = datetime.datetime.now().strftime("%c")
    env["resultsName"] = params.get("resultsName")
    env["expName"] = params.get("expName")
    env["shortRunName"] = (env["expName"] or "").split("_", 8)[-1]
    env["libraryKey"] = params.get("libraryKey", "")
    if not env["libraryKey"]:
        env["libraryKey"] = "TCAG"
        warnings += "WARNING: libraryKey redefine required.  set to TCAG\n"
    env["pathToRaw"] = params.get("pathToData")
    env["plugins"] = params.get("plugins")
    env["plan"] = params.get("plan", {})
    env["experimentAnalysisSettings"] = params.get("experimentAnalysisSettings", {})
    env["skipchecksum"] = params.get("skipchecksum", False)
    env["flowOrder"] = (params.get("flowOrder") or "0").strip()
    if env["flowOrder"] == "0":
        env["flowOrder"] = "TACG"
        warnings += "WARNING: floworder redefine required.  set to TACG\n"
    env["oninstranalysis"] = log.get("oninstranalysis") == "yes"
    env["project"] = params.get("project")
    env["sample"] = params.get("sample")
    env["chipType"] = params.get("chiptype")
    env["barcodeId"] = params.get("barcodeId", "")
    env["barcodeInfo"] = params.get("barcodeInfo")
    env["reverse_primer_dict"] = params.get("reverse_primer_dict")
    env["rawdatastyle"] = params.get("rawdatastyle", "single")
    env["extra"] = params.get("extra", "{}")
    env["mark_duplicates"] = params.get("mark_duplicates")
    env["realign"] = params.get("realign")
    env["site_name"] = params.get("site_name")
    env["runID"] = params.get("runid", "ABCDE")
    env["tfKey"] = params.get("tfKey", "")
    if not env["tfKey"]:
        env["tfKey"] = "ATCG"
        warnings += "WARNING: tfKey redefine required.  set to ATCG\n"
    env["SIGPROC_RESULTS"] = "sigproc_results"
    env["BASECALLER_RESULTS"] = "basecaller_results"
    env["ALIGNMENT_RESULTS"] = "./"
    env["sam_parsed"] = params.get("sam_parsed")
    env["tmap_version"] = params.get("tmap_version")
    env["url_path"] = params.get("url_path")
    env["net_location"] = params.get("net_location")
    env["master_node"] = (env["net_location"] or "").replace("http://", "")
    if env["rawdatastyle"] == "single":
        env["report_type"] = "wholechip"
    elif "thumbnail" in (env["pathToRaw"] or ""):
        env["report_type"] = "thumbnail"
    else:
        env["report_type"] = "composite"
        env["chipBlocksOverride"] = params.get("chipBlocksOverride", "")
    env["username"] = params.get("username")
    env["sampleInfo"] = params.get("sampleInfo", {})
    return env, warnings


def getparameter_minimal(parameterfile=None):
    """ion_params_00.json as a dict plus the result folder names and default keys (no validation)."""
    env = _params(parameterfile)
    env["SIGPROC_RESULTS"] = "sigproc_results"
    env["BASECALLER_RESULTS"] = "basecaller_results"
    env["ALIGNMENT_RESULTS"] = "./"
    env["pathToRaw"] = ""
    env["libraryKey"] = env.get("libraryKey", "TCAG")
    env["tfKey"] = env.get("tfKey", "ATCG")
    env["report_type"] = ""
    return env


def getBlocksFromExpLogDict(explogdict, excludeThumbnail=False):
    """The blocks named by a parsed explog's `blocks` entries: id_str, datasubdir, autoanalyze, analyzeearly."""
    blocks = []
    for line in explogdict.get("blocks", []):
        args = [part.strip() for part in line.strip().replace("BlockStatus:", "").split(",")]
        if args[0] == "thumbnail" or (args[0] == "0" and args[1] == "0"):
            if excludeThumbnail:
                continue
            subdir = "thumbnail"
        else:
            subdir = "%s_%s" % (args[0], args[1])
        blocks.append({"id_str": subdir, "datasubdir": subdir, "jobid": None, "status": None,
                       "autoanalyze": int(args[4].split(":")[1].strip()) == 1,
                       "analyzeearly": int(args[5].split(":")[1].strip()) == 1})
    return blocks


def getBlocksFromExpLogJson(exp_json, excludeThumbnail=False):
    log = exp_json["log"] if isinstance(exp_json["log"], dict) else json.loads(exp_json["log"])
    return getBlocksFromExpLogDict(log, excludeThumbnail)


def getFlowOrder(rawString):
    """A flow order from an explog entry: `TACG...` as is, or the old `4 0 r4 1 r3 ...` / `4 0 T 1 A ...` form."""
    raw = rawString.upper().strip()
    if " " not in raw:
        order = raw
    else:
        table = {"R1": "G", "R2": "C", "R3": "A", "R4": "T", "T": "T", "A": "A", "C": "C", "G": "G"}
        order = "".join(table[token] for token in raw.split(" ") if token in table)
    return order if len(order) >= 4 else "TACG"


def extract_rig(rig_folder):
    """The instrument name of a raw-data folder (the name of its parent folder)."""
    return os.path.basename(os.path.dirname(rig_folder))
