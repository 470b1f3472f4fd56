"""BAM to FASTQ without external tools: `python -m ion.utils.bam2fastq I=<in.bam> F=<out.fastq>`."""
from __future__ import print_function

import gzip
import struct
import sys

__all__ = ["bam_to_fastq", "main"]

_BASES = "=ACMGRSVTWYHKDBN"
_COMPLEMENT = dict(zip("ACGTNMRWSYKVHDB=", "TGCANKYWSRMBDHV="))
_SKIP = 0x100 | 0x800           # secondary and supplementary alignments: not reads of their own
_REVERSE = 0x10


def _read(handle, size):
    data = handle.read(size)
    if len(data) != size:
        raise ValueError("truncated BAM file")
    return data


def _records(handle):
    """(name, flag, sequence, qualities) of each record of an open (decompressed) BAM stream."""
    if _read(handle, 4) != b"BAM\x01":
        raise ValueError("not a BAM file")
    text_length, = struct.unpack("<i", _read(handle, 4))
    _read(handle, text_length)
    references, = struct.unpack("<i", _read(handle, 4))
    for _ in range(references):
        name_length, = struct.unpack("<i", _read(handle, 4))
        _read(handle, name_length + 4)
    while True:
        head = handle.read(4)
        if not head:
            return
        if len(head) != 4:
            raise ValueError("truncated BAM file")
        size, = struct.unpack("<i", head)
        block = _read(handle, size)
        name_length, cigar_ops, flag, seq_length = struct.unpack("<8xBxxxHHi", block[:20])
        offset = 32
        name = block[offset:offset + name_length - 1].decode("ascii", "replace")
        offset += name_length + 4 * cigar_ops
        packed = bytearray(block[offset:offset + (seq_length + 1) // 2])
        offset += (seq_length + 1) // 2
        quals = bytearray(block[offset:offset + seq_length])
        bases = "".join(_BASES[b >> 4] + _BASES[b & 15] for b in packed)[:seq_length]
        if seq_length and quals[0] == 0xFF:
            qual_text = "*" * seq_length   # BAM stores "no qualities" as 0xff
        else:
            qual_text = "".join(chr(q + 33) for q in quals)
        yield name, flag, bases, qual_text


def bam_to_fastq(bam_path, fastq_path):
    """Write every primary read of `bam_path` to `fastq_path` in sequenced orientation; return the count."""
    count = 0
    source = gzip.open(bam_path, "rb")
    try:
        with open(fastq_path, "w") as out:
            for name, flag, bases, quals in _records(source):
                if flag & _SKIP:
                    continue
                if flag & _REVERSE:
                    bases = "".join(_COMPLEMENT.get(b, "N") for b in reversed(bases))
                    quals = quals[::-1]
                out.write("@%s\n%s\n+\n%s\n" % (name, bases, quals))
                count += 1
    finally:
        source.close()
    return count


def main(argv=None):
    args = dict(arg.split("=", 1) for arg in (sys.argv[1:] if argv is None else argv) if "=" in arg)
    if "I" not in args or "F" not in args:
        print("usage: python -m ion.utils.bam2fastq I=<input.bam> F=<output.fastq>", file=sys.stderr)
        return 2
    try:
        count = bam_to_fastq(args["I"], args["F"])
    except (IOError, OSError, ValueError, struct.error) as exc:
        print("bam2fastq: %s: %s" % (args["I"], exc), file=sys.stderr)
        return 1
    print("bam2fastq: wrote %d reads to %s" % (count, args["F"]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
