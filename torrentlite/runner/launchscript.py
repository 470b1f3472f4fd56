"""Render ion_plugin_<Name>_launch.sh: the bash wrapper every plugin job runs, with its environment baked in."""
from __future__ import annotations

import datetime as _dt
import json
import os
import re
import shlex
import sys
from pathlib import Path
from collections.abc import Mapping
from typing import Dict, Iterator, List, Optional, Tuple

from .docmemo import PartMemo, indented_json, remembered
from .fsio import ensure_dir, real_path, write_atomic
from .outcome import shell_functions

STARTPLUGIN_NAME = "startplugin.json"
ENTRIES = ("python3", "python2", "bash")

_NAME_OK = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_PLUGIN_NAME_OK = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.+-]*$")
_VERSION_LINE = re.compile(r"""^\s*VERSION\s*=\s*["']?([^"'\s;#]*)""")
# A flattened top-level scalar could otherwise replace a variable that controls how bash or the plugin's
# interpreter behaves; the real wrapper would let it, but no startplugin.json has such keys on purpose.
_PROTECTED = frozenset({"PATH", "HOME", "IFS", "PS4", "ENV", "BASH_ENV", "SHELLOPTS", "BASHOPTS", "CDPATH",
                        "LD_PRELOAD", "LD_LIBRARY_PATH", "PYTHONPATH", "PYTHONHOME", "JOB_ID", "JOB_NAME",
                        "TMPDIR", "TMP", "TORRENTLITE_JOB_ID", "TORRENTLITE_JOB_TOKEN"})
_ALIASES = ("RAW_DATA_DIR", "ANALYSIS_DIR", "LIBRARY_KEY", "TESTFRAG_KEY", "RESULTS_DIR", "URL_ROOT")
_EXPMETA_TSP = (("TSP_RUN_NAME", "RUN_NAME"), ("TSP_RUN_DATE", "RUN_DATE"),
                ("TSP_ANALYSIS_NAME", "RESULTS_NAME"), ("TSP_ANALYSIS_DATE", "ANALYSIS_DATE"),
                ("TSP_PROJECT", "PROJECT"), ("TSP_SAMPLE", "SAMPLE"), ("TSP_PGM_NAME", "INSTRUMENT"),
                ("TSP_NOTES", "NOTES"), ("TSP_CHIPTYPE", "CHIPTYPE"), ("TSP_RUNID", "RUNID"),
                ("TSP_FLOWORDER", "FLOWORDER"), ("TSP_NUM_FLOWS", "RUN_FLOWS"))
# processParameters.txt keys read when the run metadata lacks a value.
_PROCESS_PARAMETERS = (("TSP_RUNID", ("runid",)), ("TSP_FLOWORDER", ("floworder", "flow order")),
                       ("TSP_LIBRARY_KEY", ("librarykey", "library key")), ("TSP_TF_KEY", ("tfkey", "tf key")),
                       ("TSP_NUM_FLOWS", ("numflows", "flows", "num flows")))


def json_default(value):
    """How startplugin.json prints what JSON has no type for (datetimes, dates, paths)."""
    if isinstance(value, _dt.datetime):
        if value.tzinfo is not None:
            value = value.astimezone(_dt.timezone.utc).replace(tzinfo=None)
        return value.strftime("%Y-%m-%dT%H:%M:%SZ")
    if isinstance(value, _dt.date):
        return value.isoformat()
    if isinstance(value, Path):
        return str(value)
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")


_SKIPPED_KEYS = ("barcodedSamples", "sampleinfo")


def _scalar_text(value) -> str:
    """The JSON text of a scalar; plain printable ASCII strings need no encoder."""
    if isinstance(value, str) and value.isascii() and value.isprintable() and '"' not in value \
            and "\\" not in value:
        return f'"{value}"'
    return json.dumps(value, default=json_default)


def _walk(value, path: str) -> Iterator[Tuple[str, str]]:
    """(path, JSON text) pairs in the order jsonpipe prints them; containers print as {} / []."""
    if isinstance(value, (dict, Mapping)):
        yield path or "/", "{}"
        for key, item in value.items():
            child = f"{path}/{key}"
            # Every line below these keys is skipped by flatten_env: no need to walk them.
            if any(skip in child for skip in _SKIPPED_KEYS):
                continue
            yield from _walk(item, child)
    elif isinstance(value, (list, tuple)):
        yield path or "/", "[]"
        for index, item in enumerate(value):
            yield from _walk(item, f"{path}/{index}")
    else:
        yield path or "/", _scalar_text(value)


_MEMO = PartMemo()


def _named_pairs(value, path: str = "") -> List[Tuple[str, str]]:
    """(variable name, value) for every exported scalar at and below ``path``, in walk order, duplicates kept."""
    return [pair for pair in (_pair(p, text) for p, text in _walk(value, path)) if pair is not None]


_PAIRS: dict = {}
_EXPORTS: dict = {}


def _pair(path: str, text: str) -> Optional[Tuple[str, str]]:
    """The exported (name, value) of one walked line, or None when the wrapper skips it."""
    # Most lines are the same from job to job: a look-up costs a tenth of the derivation.
    return remembered(_PAIRS, (path, text), lambda: _derive_pair(path, text))


def skipped_by_flatten(line: str) -> bool:
    """Whether the wrapper's flattening skips a walked line holding ``line`` (see :func:`flatten_env`)."""
    return "{}" in line or "[]" in line or any(key in line for key in _SKIPPED_KEYS)


def _derive_pair(path: str, text: str) -> Optional[Tuple[str, str]]:
    line = f"{path}\t{text}"
    if skipped_by_flatten(line):
        return None
    name = path[1:] if path.startswith("/") else path
    name = re.split(r"\s", name, maxsplit=1)[0]
    name = name.replace("-", "_").upper().replace("/", "__").replace(".", "_")
    if not _NAME_OK.match(name) or name in _PROTECTED:
        return None
    return name, text.replace('"', "")


def flatten_env(startplugin: Mapping) -> Dict[str, str]:
    """startplugin.json as the environment variables the real wrapper's makeVarsFromJson exports.

    Every scalar becomes ``PATH__TO__KEY=value``: the path without its leading ``/``, cut at the first
    whitespace, ``-`` → ``_``, uppercased, ``/`` → ``__``, ``.`` → ``_``; list items get their index as the last
    component. The value is the JSON text with every ``"`` removed (``5``, ``true``, ``null``, ``a\\nb``).
    Skipped, like the original: containers, any line containing ``{}`` or ``[]``, ``barcodedSamples`` or
    ``sampleinfo``; also names that are not shell identifiers (bash would reject them) and a few protected
    top-level names. Later duplicates win.
    """
    env: Dict[str, str] = {}
    if not isinstance(startplugin, (dict, Mapping)):
        pairs = _named_pairs(startplugin)
    else:
        # Sections are remembered item by item: most of runinfo is the same for every job too.
        pairs = []
        for key, value in startplugin.items():
            if not isinstance(value, (dict, Mapping)):
                pairs += _MEMO.get("env", f"/{key}", value, lambda p=f"/{key}", v=value: _named_pairs(v, p),
                                   json_default)
                continue
            for sub, item in value.items():
                path = f"/{key}/{sub}"
                if isinstance(item, (dict, list, tuple, Mapping)):
                    pairs += _MEMO.get("env", path, item, lambda p=path, v=item: _named_pairs(v, p), json_default)
                elif (pair := _pair(path, _scalar_text(item))) is not None:
                    pairs.append(pair)      # a scalar costs less to derive than to look up
    for name, text in pairs:
        env.pop(name, None)
        env[name] = text
    return env


def _read_process_parameters(sigproc_dir: str) -> Dict[str, str]:
    values: Dict[str, str] = {}
    try:
        text = Path(sigproc_dir, "processParameters.txt").read_text(errors="replace")
    except OSError:
        return values
    for line in text.splitlines():
        key, sep, value = line.partition("=")
        if sep:
            values.setdefault(key.strip().lower(), value.strip())
    return values


def _find_fasta(root: Path, library: str) -> Optional[Path]:
    """First ``<library>.fasta`` at most two levels below ``root`` (sorted, so the choice is stable)."""
    if not library or not root.is_dir():
        return None
    target = f"{library}.fasta"
    levels = [[root]]
    for _depth in range(2):
        nxt = []
        for folder in levels[-1]:
            try:
                entries = sorted(folder.iterdir())
            except OSError:
                continue
            for entry in entries:
                if entry.name == target and entry.is_file():
                    return entry
            nxt.extend(e for e in entries if e.is_dir())
        levels.append(nxt)
    return None


def derived_env(flat: Mapping[str, str], *, plugin_name: str, plugin_dir: Path, results_dir: Path,
                reference_root: Optional[Path] = None, scratch_dir: Optional[Path] = None) -> Dict[str, str]:
    """The wrapper's aliases and derived variables (``RESULTS_DIR``, ``SIGPROC_DIR``, ``TSP_*`` …) from ``flat``."""
    env: Dict[str, str] = {}
    for name in _ALIASES:
        if flat.get(f"RUNINFO__{name}"):
            env[name] = flat[f"RUNINFO__{name}"]
    env.setdefault("RESULTS_DIR", str(results_dir))
    env["DIRNAME"] = str(plugin_dir)
    env["PROGRAM"] = env["PLUGINNAME"] = plugin_name
    analysis = flat.get("RUNINFO__ANALYSIS_DIR") or env.get("ANALYSIS_DIR", "")
    env["REPORT_ROOT_DIR"] = analysis
    for var, sub in (("SIGPROC_DIR", "sigproc_results/"), ("BASECALLER_DIR", "basecaller_results/")):
        value = flat.get(f"RUNINFO__{var}") or (os.path.join(analysis, sub) if analysis else "")
        env[var] = value if value and os.path.isdir(value) else analysis
    env["ALIGNMENT_DIR"] = flat.get("RUNINFO__ALIGNMENT_DIR") or analysis
    for var, key in _EXPMETA_TSP:
        env[var] = flat.get(f"EXPMETA__{key}", "")
    env["TSP_LIBRARY"] = flat.get("RUNINFO__LIBRARY", "")
    env["TSP_LIBRARY_KEY"] = flat.get("RUNINFO__LIBRARY_KEY", "")
    env["TSP_TF_KEY"] = flat.get("RUNINFO__TESTFRAG_KEY", "")
    if any(not env[var] for var, _keys in _PROCESS_PARAMETERS) and env["SIGPROC_DIR"]:
        params = _read_process_parameters(env["SIGPROC_DIR"])
        for var, keys in _PROCESS_PARAMETERS:
            if not env[var]:
                env[var] = next((params[k] for k in keys if params.get(k)), "")
    stem = f"{env['TSP_RUN_NAME']}_{env['TSP_ANALYSIS_NAME']}"
    url_root = env.get("URL_ROOT", "")
    env["TSP_FILEPATH_OUTPUT_STEM"] = env["TSP_URLPATH_OUTPUT_STEM"] = stem
    fasta = None
    if reference_root is not None:
        tmap = flat.get("RUNINFO__TMAP_VERSION") or "tmap-f3"
        fasta = _find_fasta(Path(reference_root) / tmap, env["TSP_LIBRARY"])
    env["TSP_FILEPATH_GENOME_FASTA"] = str(fasta) if fasta else ""
    env["TSP_URLPATH_GENOME_FASTA"] = (
        "/output/" + fasta.relative_to(Path(reference_root)).as_posix() if fasta else "")
    env["TSP_FILEPATH_UNMAPPED_BAM"] = os.path.join(env["BASECALLER_DIR"], "rawlib.basecaller.bam")
    env["TSP_FILEPATH_UNMAPPED_TF_BAM"] = os.path.join(env["BASECALLER_DIR"], "rawtf.basecaller.bam")
    env["TSP_URLPATH_UNMAPPED_BAM"] = f"{url_root}/{stem}.rawlib.basecaller.bam"
    env["TSP_URLPATH_UNMAPPED_TF_BAM"] = f"{url_root}/{stem}.rawtf.basecaller.bam"
    env["TSP_FILEPATH_BAM"] = os.path.join(env["ALIGNMENT_DIR"], "rawlib.bam")
    env["TSP_FILEPATH_BAI"] = os.path.join(env["ALIGNMENT_DIR"], "rawlib.bam.bai")
    env["TSP_URLPATH_BAM"] = f"{url_root}/download_links/{stem}.bam"
    env["TSP_URLPATH_BAI"] = f"{url_root}/download_links/{stem}.bam.bai"
    env["TSP_FILEPATH_PLUGIN_DIR"] = env["RESULTS_DIR"]
    env["TSP_URLPATH_PLUGIN_DIR"] = f"{url_root}/plugin_out/{os.path.basename(env['RESULTS_DIR'].rstrip('/'))}"
    env["TSP_FILEPATH_BARCODE_TXT"] = os.path.join(env["REPORT_ROOT_DIR"], "barcodeList.txt")
    env["TSP_URLPATH_BARCODE_TXT"] = f"{url_root}/barcodeList.txt"
    env["TSP_PLUGIN_SCRATCH"] = str(scratch_dir if scratch_dir is not None else Path(plugin_dir).parent / "scratch")
    env["PLUGIN_PATH"] = str(plugin_dir)
    return env


def _truthy(value) -> bool:
    return bool(value) and str(value).strip().lower() not in ("0", "false", "no", "off", "none", "null")


def split_launch_sh(text: str) -> Tuple[str, List[str], List[str]]:
    """A launch.sh as the wrapper uses it: ``(version, #$ lines, body lines without #! and #$ lines)``."""
    version, sge, body = "0", [], []
    for line in text.splitlines():
        if line.startswith("#!"):
            continue
        if line.startswith("#$"):
            sge.append(line)
            continue
        match = _VERSION_LINE.match(line)
        if match:
            version = match.group(1) or version
        body.append(line)
    return version, sge, body


def script_path(results_dir: Path, plugin_name: str) -> Path:
    return Path(results_dir) / f"ion_plugin_{plugin_name}_launch.sh"


def launch_args(results_dir: Path, resolve: bool = True) -> List[str]:
    """Arguments the executor passes to the launch script: ``-j <results_dir>/startplugin.json``.

    ``resolve=False`` when ``results_dir`` is already a resolved path (the folder of a rendered script).
    """
    return ["-j", str(Path(real_path(results_dir) if resolve else results_dir) / STARTPLUGIN_NAME)]


def startplugin_text(startplugin: Mapping) -> str:
    """The text of ``startplugin.json``: indent 2, without a ``command`` key, datetimes as ``…Z``."""
    return indented_json({k: v for k, v in startplugin.items() if k != "command"}, json_default) + "\n"


def write_startplugin(results_dir: Path, startplugin: Mapping) -> Path:
    """Write ``startplugin.json`` (see :func:`startplugin_text`) into ``results_dir``."""
    path = Path(results_dir) / STARTPLUGIN_NAME
    write_atomic(path, startplugin_text(startplugin).encode("utf-8"))
    return path


def _exports(env: Mapping[str, str]) -> str:
    return "".join([remembered(_EXPORTS, (name, value), lambda: f"export {name}={shlex.quote(str(value))}\n")
                    for name, value in env.items()])


_HELPERS = r"""
tl_banner() {
    echo "=============================================================================="
    echo "$1"
    echo "=============================================================================="
}
tl_on_usr1() {
    trap - ERR INT TERM USR1
    tl_banner "Plugin Timed Out: $PLUGINNAME exceeded its run time limit"
    tl_finished 0 timedout
    exit 0
}
tl_on_err() {
    local rc=$?
    trap - ERR
    if [ "$rc" -eq 138 ]; then
        # The plugin died of SIGUSR1, which only the time limit sends.
        tl_on_usr1
    fi
    tl_banner "Plugin Execution Error: $PLUGINNAME exited with status $rc"
    tl_finished "$rc" error
    exit "$rc"
}
tl_on_signal() {
    trap - ERR INT TERM USR1
    tl_banner "$3"
    tl_finished "$1" "$2"
    exit "$1"
}
failure() {
    echo "$PLUGINNAME: $*" >&2
    exit 1
}
test_for_file() {
    [ -f "$1" ] || failure "file not found: $1"
}
test_for_executable() {
    [ -x "$1" ] || failure "executable not found: $1"
}
"""

_ARGS = r"""
json_fname=
while [ $# -gt 0 ]; do
    case "$1" in
        -j) json_fname=${2:-}; shift 2 || shift ;;
        -r) RAW_DATA_DIR=${RAW_DATA_DIR:-${2:-}}; shift 2 || shift ;;
        -a) ANALYSIS_DIR=${ANALYSIS_DIR:-${2:-}}; shift 2 || shift ;;
        -l) LIBRARY_KEY=${LIBRARY_KEY:-${2:-}}; shift 2 || shift ;;
        -t) TESTFRAG_KEY=${TESTFRAG_KEY:-${2:-}}; shift 2 || shift ;;
        -o) OUTPUT_DIR=${2:-}; export OUTPUT_DIR; shift 2 || shift ;;
        -p) DIRNAME=${DIRNAME:-${2:-}}; shift 2 || shift ;;
        -u) URL_ROOT=${URL_ROOT:-${2:-}}; shift 2 || shift ;;
        -v) shift ;;
        *) echo "Ignoring unknown option: $1"; shift ;;
    esac
done
if [ -n "$json_fname" ] && [ ! -f "$json_fname" ]; then
    echo "Warning: startplugin file not found: $json_fname" >&2
fi
for tl_var in RAW_DATA_DIR ANALYSIS_DIR RESULTS_DIR; do
    if [ -n "${!tl_var:-}" ] && [ ! -d "${!tl_var}" ]; then
        echo "Warning: $tl_var is not a directory: ${!tl_var}" >&2
    fi
done
unset tl_var
"""


def render_launch_script(*, plugin_name: str, results_dir: Path, **options) -> Path:
    """Write ``<results_dir>/ion_plugin_<Name>_launch.sh`` (mode 0775; text from :func:`launch_script_text`)
    and return its path."""
    text = launch_script_text(plugin_name=plugin_name, results_dir=results_dir, **options)
    return write_launch_script(real_path(results_dir), plugin_name, text)


def write_launch_script(folder, plugin_name: str, text: str) -> Path:
    """Write ``text`` as ``<folder>/ion_plugin_<Name>_launch.sh`` (mode 0775); ``folder`` already resolved."""
    ensure_dir(folder)
    path = script_path(Path(folder), plugin_name)
    write_atomic(path, text.encode("utf-8"), mode=0o775)
    return path


def launch_script_text(*, plugin_name: str, plugin_dir: Path, results_dir: Path, startplugin: Mapping,
                       entry: str = "python3", launch_sh_text: Optional[str] = None,
                       pluginlib_dir: Optional[Path] = None, python: str = sys.executable,
                       reference_root: Optional[Path] = None, scratch_dir: Optional[Path] = None,
                       memory: str = "8G", legacy_python: Optional[Path] = None,
                       python2_missing: Optional[str] = None) -> str:
    """The text of ``ion_plugin_<Name>_launch.sh`` for a job whose folder is ``results_dir``.

    ``entry`` is "python3" (runs ``<python> -u <plugin_dir>/<Name>.py -vv`` with ``pluginlib_dir`` first on
    PYTHONPATH), "python2" (``python -u <plugin_dir>/<Name>.py -vv`` with the legacy environment's
    ``legacy_python`` folder first on PATH, so whatever the plugin spawns as ``python`` is 2.7 too) or "bash"
    (``launch_sh_text`` pasted inline, as the real wrapper does; with ``legacy_python`` also first on PATH).
    ``python2_missing``, when given, replaces the plugin's code: the job prints that one line and fails.
    The environment from ``startplugin`` is computed now and written as quoted exports; write the same
    dict with :func:`write_startplugin` and run the script with :func:`launch_args`. The script needs no
    network: it records its start and exit status in ``.torrentlite/`` for the executor, and leaves
    ``results.json`` for the scheduler to read.
    """
    if entry not in ENTRIES:
        raise ValueError(f"entry must be one of {ENTRIES}, not {entry!r}")
    if not _PLUGIN_NAME_OK.match(plugin_name or ""):
        raise ValueError(f"invalid plugin name: {plugin_name!r}")
    if entry == "bash" and launch_sh_text is None:
        raise ValueError("a bash plugin needs launch_sh_text")
    plugin_dir, results_dir = Path(real_path(plugin_dir)), Path(real_path(results_dir))
    q = shlex.quote

    if entry == "python2" and legacy_python is None and not python2_missing:
        raise ValueError("a python2 plugin needs legacy_python or python2_missing")
    version, sge, body = "0", [], []
    pythonpath = q(real_path(pluginlib_dir)) if pluginlib_dir is not None else "''"
    setup = [f"PYTHONPATH={pythonpath}${{PYTHONPATH:+:$PYTHONPATH}}", "export PYTHONPATH"]
    if legacy_python is not None:
        setup += [f"PATH={q(str(Path(legacy_python).parent))}:$PATH", "export PATH"]
    if entry == "bash":
        version, sge, body = split_launch_sh(launch_sh_text or "")
        if legacy_python is not None:
            body = setup + body
    else:
        interpreter = "python" if entry == "python2" else q(str(python))
        body = setup + [f"{interpreter} -u {q(str(plugin_dir / (plugin_name + '.py')))} -vv"]
    if python2_missing:
        body = [f"echo {q('ERROR: ' + python2_missing)}", "exit 1"]

    flat = flatten_env(startplugin)
    derived = derived_env(flat, plugin_name=plugin_name, plugin_dir=plugin_dir, results_dir=results_dir,
                          reference_root=reference_root, scratch_dir=scratch_dir)
    pluginconfig = startplugin.get("pluginconfig") if isinstance(startplugin.get("pluginconfig"), Mapping) else {}
    debug = _truthy(pluginconfig.get("debug"))
    name_q = q(plugin_name)

    parts = [
        "#!/bin/bash\n",
        f"# Launch script for plugin {plugin_name}, generated by torrentlite.\n",
        "#$ -cwd\n#$ -j no\n",
        f"#$ -l mem_free={memory},h_vmem={memory},s_vmem={memory}\n#$ -l s_stack=16M\n",
        "".join(line + "\n" for line in sge),
        f"VERSION={q(version)}\n\n",
        shell_functions(),
        "tl_started\n",
        # Grid Engine's shepherd starts jobs privileged, so glibc strips TMPDIR; it keeps TMP (same folder).
        'if [ -z "${TMPDIR:-}" ] && [ -n "${TMP:-}" ]; then export TMPDIR=$TMP; fi\n',
        _HELPERS,
        'if [ -n "${http_proxy:-}" ]; then\n'
        '    echo "http_proxy=$http_proxy"\n'
        '    HTTP_PROXY=${HTTP_PROXY:-$http_proxy}\n'
        '    no_proxy=${no_proxy:-localhost,127.0.0.1}\n'
        '    export http_proxy HTTP_PROXY no_proxy\n'
        'fi\n\n',
        "# startplugin.json, flattened\n",
        _exports(flat),
        "\n# aliases and derived locations\n",
        _exports(derived),
        "SIGPROC_REPORT=$SIGPROC_DIR\nBASECALLER_REPORT=$BASECALLER_DIR\nALIGNMENT_REPORT=$ALIGNMENT_DIR\n"
        "fastafile=$TSP_FILEPATH_GENOME_FASTA\nGENPATH=${fastafile%/*}\n",
        'echo "Plugin: $PLUGINNAME - $VERSION"\n',
        'echo "Host: ${HOSTNAME:-}"\n',
        'echo "Job ID: ${JOB_ID:-}  Job name: ${JOB_NAME:-}"\n',
        _ARGS,
        'echo "version=$VERSION"\n',
        'echo "command line="\n',
        f'echo {q(plugin_name + ": starting execution of plugin code")}\n\n',
        "umask 0000\n",
        "ulimit -c 0\n",
        "starttime=$(date +%s)\n",
        'echo "start time=$(date)"\n',
        "set -o errexit\n",
        "trap tl_on_err ERR\n",
        "trap 'tl_on_signal 130 interrupted \"Plugin Execution Interrupted by Ctrl-C\"' INT\n",
        "trap 'tl_on_signal 143 terminated \"Plugin Terminated by request (TERM/KILL)\"' TERM\n",
        "trap tl_on_usr1 USR1\n",
        'echo "=============================================================================="\n',
        "set -o xtrace\n" if debug else "",
        "(\n",
        "".join(line + "\n" for line in body),
        ")\n",
        "RETVAL=$?\n",
        "set +o xtrace\n" if debug else "",
        "trap - ERR\n",
        'echo "=============================================================================="\n',
        'echo "end time=$(date)"\n',
        f'echo "pluginelapsedtime: "{name_q}",$(( $(date +%s) - starttime ))"\n',
        'tl_finished "$RETVAL" completed\n',
        "exit $RETVAL\n",
    ]
    return "".join(parts)


__all__ = ["flatten_env", "derived_env", "render_launch_script", "launch_script_text", "write_launch_script",
           "write_startplugin", "startplugin_text", "launch_args", "script_path", "split_launch_sh",
           "STARTPLUGIN_NAME"]
