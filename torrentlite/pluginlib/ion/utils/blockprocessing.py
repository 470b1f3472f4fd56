"""The parts of the pipeline's blockprocessing module that plugins use: printtime, parse_metrics, bam2fastq_command."""
from __future__ import print_function

import json
import os
import sys
import time

try:
    from shlex import quote as _quote
except ImportError:  # Python 2.7
    from pipes import quote as _quote

__all__ = ["printtime", "parse_metrics", "bam2fastq_command", "get_datasets_basecaller", "printheader"]


def printtime(message, *args):
    """Print `[ HH:MM:SS ] message` (with `message % args` when args are given) and flush."""
    if args:
        message = message % args
    print("[ " + time.strftime("%X") + " ] " + message)
    sys.stdout.flush()
    sys.stderr.flush()


def parse_metrics(path):
    """A `key = value` text file (e.g. processParameters.txt) as a dict of stripped strings."""
    values = {}
    with open(path) as handle:
        for line in handle:
            parts = line.strip().split("=")
            values[parts[0].strip()] = parts[-1].strip()
    return values


def bam2fastq_command(BAMName, FASTQName):
    """A shell command that writes the reads of BAM file `BAMName` to FASTQ file `FASTQName`.

    Torrent Suite runs Picard's SamToFastq here; torrentlite runs its own converter (ion.utils.bam2fastq)
    with the calling interpreter, which gives the same FASTQ: primary reads only, reverse-strand reads
    reverse-complemented back to their sequenced orientation.
    """
    return "%s -m ion.utils.bam2fastq I=%s F=%s" % (_quote(sys.executable), _quote(BAMName), _quote(FASTQName))


def get_datasets_basecaller(BASECALLER_RESULTS):
    """basecaller_results/datasets_basecaller.json as a dict; raises Exception when absent or unreadable."""
    path = os.path.join(BASECALLER_RESULTS, "datasets_basecaller.json")
    if not os.path.exists(path):
        printtime("ERROR: %s does not exist" % path)
        raise Exception("ERROR: %s does not exist" % path)
    try:
        with open(path) as handle:
            return json.load(handle)
    except ValueError:
        printtime("ERROR: problem parsing %s" % path)
        raise Exception("ERROR: problem parsing %s" % path)


def printheader():
    """Print a box with the interpreter, host, pid, working directory and job id (a job log's first lines)."""
    import datetime
    import socket
    rows = [("Python Executable", sys.executable), ("Python Version", sys.version.replace("\n", " ")),
            ("Platform", sys.platform), ("Hostname", socket.gethostname()), ("PID", str(os.getpid())),
            ("Working Directory", os.getcwd()), ("Job ID", os.environ.get("JOB_ID", "[Stand-alone]")),
            ("Job Name", os.environ.get("JOB_NAME", "[Stand-alone]")),
            ("Start Time", datetime.datetime.now().strftime("%H:%M:%S %b/%d/%Y"))]
    width = max(len(a) + len(b) for a, b in rows) + 8
    print("*" * width)
    for label, value in rows:
        print("* %s%s%s *" % (label, " " * (width - 4 - len(label) - len(value)), value))
    print("*" * width)
    sys.stdout.flush()
