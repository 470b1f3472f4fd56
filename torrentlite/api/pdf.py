"""A small PDF writer for text reports: a title, then sections of label/value lines, paged on A4."""
from __future__ import annotations

from typing import Iterable, List, Sequence, Tuple

PAGE_WIDTH, PAGE_HEIGHT = 595, 842          # A4 in points
MARGIN, LINE = 50, 14
VALUE_X = 250                               # where values start, right of the labels
Section = Tuple[str, Sequence[Tuple[str, object]]]


def _text(value: object) -> str:
    """A PDF string literal body: WinAnsi (Latin-1) text with \\, ( and ) escaped, other bytes as '?'."""
    raw = str(value).encode("latin-1", "replace").decode("latin-1")
    raw = "".join(c if 32 <= ord(c) < 127 or ord(c) >= 160 else "?" for c in raw)
    return raw.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)")


def _shown(value: object) -> str:
    """Numbers as a report shows them: integral floats without ``.0``, others to two decimals."""
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() else f"{value:.2f}"
    return "" if value is None else str(value)


def _clip(value: object, limit: int) -> str:
    text = _shown(value)
    return text if len(text) <= limit else text[:limit - 3] + "..."


def _pages(title: str, sections: Iterable[Section]) -> List[List[str]]:
    """Content-stream operators for each page."""
    pages: List[List[str]] = []
    ops: List[str] = []
    y = 0

    def new_page():
        nonlocal ops, y
        ops = []
        pages.append(ops)
        y = PAGE_HEIGHT - MARGIN

    def put(x, font, size, text):
        ops.append(f"BT /{font} {size} Tf {x} {y} Td ({_text(text)}) Tj ET")

    new_page()
    put(MARGIN, "F2", 16, _clip(title, 60))
    y -= 2 * LINE
    for heading, rows in sections:
        if y < MARGIN + 3 * LINE:
            new_page()
        put(MARGIN, "F2", 12, heading)
        y -= LINE + 4
        for label, value in rows:
            if y < MARGIN:
                new_page()
            put(MARGIN, "F1", 10, _clip(label, 40))
            put(VALUE_X, "F1", 10, _clip(value, 60))
            y -= LINE
        y -= LINE / 2
    return pages


def text_pdf(title: str, sections: Iterable[Section]) -> bytes:
    """A PDF 1.4 document (standard Helvetica fonts, nothing embedded) of ``title`` and ``sections``."""
    pages = _pages(title, sections)
    objects: List[bytes] = []                       # object n is objects[n - 1]
    first_page = 5
    kids = " ".join(f"{first_page + 2 * i} 0 R" for i in range(len(pages)))
    objects.append(b"<< /Type /Catalog /Pages 2 0 R >>")
    objects.append(f"<< /Type /Pages /Kids [{kids}] /Count {len(pages)} >>".encode())
    objects.append(b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>")
    objects.append(b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica-Bold /Encoding /WinAnsiEncoding >>")
    for index, ops in enumerate(pages):
        stream = "\n".join(ops).encode("latin-1")
        objects.append(f"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 {PAGE_WIDTH} {PAGE_HEIGHT}] "
                       f"/Resources << /Font << /F1 3 0 R /F2 4 0 R >> >> "
                       f"/Contents {first_page + 2 * index + 1} 0 R >>".encode())
        objects.append(b"<< /Length %d >>\nstream\n" % len(stream) + stream + b"\nendstream")
    objects.append(f"<< /Title ({_text(title)}) /Producer (torrentlite) >>".encode("latin-1"))
    out = bytearray(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % number + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R /Info %d 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (
        len(objects) + 1, len(objects), xref)
    return bytes(out)


__all__ = ["text_pdf"]
