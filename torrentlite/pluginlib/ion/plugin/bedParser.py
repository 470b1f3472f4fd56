"""BED reading and writing for plugins: IonBedHeader, IonBedReader (whole file or line by line), IonBedWriter."""
from __future__ import print_function

__all__ = ["IonBedHeader", "IonBedReader", "IonBedWriter", "BED_COLUMNS", "BED_DETAIL_COLUMNS"]

# The twelve columns of the UCSC BED format in order; the first three are mandatory.
BED_COLUMNS = ["chrom", "chromStart", "chromEnd", "name", "score", "strand", "thickStart", "thickEnd",
               "itemRgb", "blockCount", "blockSizes", "blockStarts"]
# A track of type=bedDetail adds these two after the BED columns.
BED_DETAIL_COLUMNS = ["id", "info"]

_TEXT = ("chrom", "name", "strand", "id")
_NUMBERS = ("chromStart", "chromEnd", "score", "thickStart", "thickEnd", "blockCount")
_LISTS = ("itemRgb", "blockSizes", "blockStarts")
_WRITE_ORDER = BED_COLUMNS[3:] + BED_DETAIL_COLUMNS


def _parse_info(text):
    """`GENE_ID=EGFR;COSMIC_ID=C1,C2;FLAG` -> {"GENE_ID": ["EGFR"], "COSMIC_ID": ["C1", "C2"], "FLAG": []}."""
    found = {}
    for item in text.split(";"):
        key, sep, value = item.partition("=")
        found[key if sep else item] = value.split(",") if sep else []
    return found


def _format_info(info):
    parts = []
    for key in info:
        values = info[key]
        parts.append(key + ("=" + ",".join(str(v) for v in values) if len(values) else ""))
    return ";".join(parts)


def _to_value(column, text):
    if column in _NUMBERS:
        return None if text == "." else int(text)
    if column in _LISTS:
        return text.split(",")
    if column == "info":
        return _parse_info(text)
    return str(text)


def _to_text(column, value):
    if column in _NUMBERS:
        return "." if value is None else str(value)
    if column in _LISTS:
        return ",".join(str(v) for v in value) if isinstance(value, (list, tuple)) else str(value)
    if column == "info":
        return _format_info(value)
    return str(value)


def _key_values(words):
    found = {}
    for word in words:
        key, sep, value = word.partition("=")
        found[key] = value if sep else ""
    return found


class IonBedHeader(object):
    """The `browser` and `track` lines of a BED file, each as a dict of its key=value words."""

    def __init__(self):
        self.Clear()

    def Clear(self):
        self.track = []
        self.browser = []
        self.type = "bed"
        self.columns = []

    def AddHeaderLine(self, line):
        """Take `line` if it is a track or browser line (True), else leave it (False)."""
        words = line.rstrip().split()
        if not words or words[0] not in ("track", "browser"):
            return False
        values = _key_values(words[1:])
        if words[0] == "track":
            self.track.append(values)
            if values.get("type", "bed") != "bed":
                self.type = values["type"]
        else:
            self.browser.append(values)
        return True

    def AddTrackDict(self, track):
        self.track.append(track)

    def AddBrowserDict(self, browser):
        self.browser.append(browser)

    @staticmethod
    def _line(kind, values):
        return " ".join([kind] + [k + ("=" + values[k] if len(values[k]) else "") for k in values])

    def WriteHeader(self, fhandle):
        """Write browser lines, then track lines; False if the handle refuses."""
        try:
            for values in self.browser:
                fhandle.write(self._line("browser", values) + "\n")
            for values in self.track:
                fhandle.write(self._line("track", values) + "\n")
        except (IOError, OSError, ValueError):
            print("IonBedHeader ERROR unable to write header.")
            return False
        return True


class IonBedReader(object):
    """Reads a BED (or bedDetail) file given as an open `file` or a `filename`.

    After construction the header is read and `columns` names the columns of the first data line;
    `load()` returns {column: [values]} for the whole file, `readline()` one {column: value} at a time.
    Problems are printed as `IonBedReader ERROR ...` and leave the reader empty, as plugins expect.
    """

    bedColumns = BED_COLUMNS
    bedDetailCols = BED_DETAIL_COLUMNS

    def __init__(self, file=None, filename=None):
        self.chromOrder = []
        self.columns = []
        self.header = IonBedHeader()
        self.nBedCols = 0
        self.bline = ""
        self.filename = filename
        try:
            self.bed = open(filename, "r") if file is None else file
            self.bline = self.bed.readline().rstrip()
        except (IOError, OSError, TypeError):
            print("IonBedReader ERROR cannot open/read bedfile %s" % filename)
            return
        if self.bline == "":
            print("IonBedReader ERROR bedfile %s is empty!" % filename)
            return
        while self.bline and self.header.AddHeaderLine(self.bline):
            self.bline = self.bed.readline().rstrip()
        count = len(self.bline.split("\t"))
        detail = self.header.type == "bedDetail"
        if detail:
            count -= 2
        if count < 3:
            print("IonBedReader ERROR bedfile %s needs at least chrom,chromStart,chromEnd fields." % filename)
            return
        if count > 12:
            print("IonBedReader ERROR bedfile %s has too many columns." % filename)
            return
        self.nBedCols = count
        self.columns = BED_COLUMNS[:count] + (list(BED_DETAIL_COLUMNS) if detail else [])
        self.header.columns = self.columns

    def close(self):
        if hasattr(self, "bed") and not self.bed.closed:
            self.bed.close()

    def _convertBedType(self, key, val):
        return _to_value(key, val)

    def bedLine2Dict(self, bline):
        words = bline.split("\t")
        if len(words) != len(self.columns):
            print("IonBedReader ERROR bedfile %s needs chrom,chromStart,chromEnd fields" % self.filename)
            return {}
        return dict((k, _to_value(k, v)) for k, v in zip(self.columns, words))

    def load(self):
        """The rest of the file as {column: [values]}; {} when a line has the wrong number of columns."""
        table = {}
        if not hasattr(self, "bed") or self.bed.closed or not self.columns:
            print("IonBedReader ERROR bedfile %s is not open." % self.filename)
            return table
        for column in self.columns:
            table[column] = []
        lines = [self.bline] if self.bline else []
        number = 0
        for line in lines + [l.rstrip("\r\n") for l in self.bed]:
            number += 1
            if not line.strip():
                continue
            words = line.rstrip().split("\t")
            if len(words) != len(self.columns):
                print("IonBedReader ERROR unexpected number of columns in line %d of file %s"
                      % (number, self.filename))
                return {}
            for column, word in zip(self.columns, words):
                table[column].append(_to_value(column, word))
        self.bline = ""
        return table

    def readline(self):
        """The next data line as {column: value}, {} at the end of the file."""
        if self.bline == "":
            return {}
        values = self.bedLine2Dict(self.bline)
        self.bline = self.bed.readline().rstrip()
        if values and values["chrom"] not in self.chromOrder:
            self.chromOrder.append(values["chrom"])
        return values

    def InTarget(self, target, chrom, pos):
        """-1 if chrom/pos comes before `target`, 0 inside it, 1 after it (in the file's chromosome order)."""
        if chrom not in self.chromOrder:
            return 1
        if not target or target["chrom"] not in self.chromOrder:
            return -1
        here, there = self.chromOrder.index(chrom), self.chromOrder.index(target["chrom"])
        if here != there:
            return -1 if here < there else 1
        if pos < target["chromStart"]:
            return -1
        if pos >= target["chromEnd"]:
            return 1
        return 0


class IonBedWriter(object):
    """Writes BED lines from the dicts IonBedReader produces (a whole table or one line at a time)."""

    mandatoryBedCols = BED_COLUMNS[:3]
    optBedCols = _WRITE_ORDER

    def __init__(self, file=None, filename=None, header=None):
        try:
            self.bed = open(filename, "w") if file is None else file
        except (IOError, OSError, TypeError):
            print("IonBedWriter ERROR cannot open bedfile %s" % filename)
        self.header = IonBedHeader() if header is None else header
        self.columns = []
        self.wroteHeader = False

    def close(self):
        if hasattr(self, "bed") and not self.bed.closed:
            self.bed.close()

    def WriteHeader(self):
        self.header.WriteHeader(self.bed)
        self.wroteHeader = True

    def _convertColToStr(self, col, val):
        return _to_text(col, val)

    def _line(self, values):
        words = [str(values["chrom"]), _to_text("chromStart", values["chromStart"]),
                 _to_text("chromEnd", values["chromEnd"])]
        words += [_to_text(col, values[col]) for col in _WRITE_ORDER if col in values]
        return "\t".join(words) + "\n"

    def write(self, fdict):
        """Write a {column: [values]} table (as IonBedReader.load returns)."""
        if not isinstance(fdict["chrom"], list):
            print("IonBedWriter ERROR expected type(chrom)==list for write function.")
            return
        if not self.wroteHeader:
            self.WriteHeader()
        for index in range(len(fdict["chrom"])):
            self.bed.write(self._line(dict((k, v[index]) for k, v in fdict.items())))

    def writeline(self, ldict):
        """Write one {column: value} line (as IonBedReader.readline returns)."""
        if isinstance(ldict["chrom"], list):
            print("IonBedWriter ERROR expected type(chrom)==str for writeline function.")
            return
        if not self.wroteHeader:
            self.WriteHeader()
        self.bed.write(self._line(ldict))
