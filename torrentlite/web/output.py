"""/output: report folders and the reference library served as Torrent Suite's web server serves them."""
from __future__ import annotations

import html
import os
import re
import stat
from email.utils import formatdate, parsedate_to_datetime
from pathlib import Path
from typing import Iterator, Optional
from urllib.parse import parse_qs, quote

import bottle

from torrentlite.api.errors import unauthorized
from torrentlite.store.paths import report_dir

PREFIXES = ("/output", "/auth/output")  # genome_urlpath in barcodes.json uses the /auth/ alias
REFERENCE_LIBRARY = "referenceLibrary"
CHUNK = 256 * 1024
TEXT_TYPES = {".html": "text/html", ".htm": "text/html", ".txt": "text/plain", ".log": "text/plain",
              ".csv": "text/csv", ".tsv": "text/tab-separated-values", ".bed": "text/plain",
              ".fasta": "text/plain", ".fa": "text/plain", ".fai": "text/plain", ".vcf": "text/plain",
              ".sam": "text/plain", ".fastq": "text/plain", ".css": "text/css", ".js": "text/javascript",
              ".xml": "application/xml", ".svg": "image/svg+xml", ".json": "application/json",
              ".php": "text/plain", ".stats": "text/plain", ".md": "text/plain"}
BINARY_TYPES = {".png": "image/png", ".jpg": "image/jpeg", ".jpeg": "image/jpeg", ".gif": "image/gif",
                ".pdf": "application/pdf", ".zip": "application/zip", ".gz": "application/gzip",
                ".bam": "application/octet-stream", ".bai": "application/octet-stream",
                ".bgz": "application/octet-stream", ".tbi": "application/octet-stream",
                ".ico": "image/x-icon", ".woff2": "font/woff2"}
_RANGE = re.compile(r"^bytes=(\d*)-(\d*)$")


def content_type(name: str) -> str:
    suffix = os.path.splitext(name)[1].lower()
    if suffix in TEXT_TYPES:
        return TEXT_TYPES[suffix] + "; charset=utf-8"
    return BINARY_TYPES.get(suffix, "application/octet-stream")


class OutputFiles:
    """Maps /output URLs to files inside the report storages and the reference library, and serves them."""

    def __init__(self, api, data_path: Path):
        self.api = api
        self.store = api.store
        self.reference_root = Path(data_path) / REFERENCE_LIBRARY

    # ---- where a URL leads ---------------------------------------------------------------------------

    def storage_roots(self) -> list[Path]:
        rows = self.store.db.execute_sql(
            'SELECT "dirPath", "webServerPath" FROM "reportstorage" ORDER BY "default" DESC, id').fetchall()
        roots = []
        for dir_path, web in rows:
            if dir_path and (web or "").rstrip("/") == "/output" and Path(dir_path) not in roots:
                roots.append(Path(dir_path))
        return roots

    def roots_for(self, parts: list[str]) -> list[tuple[Path, list[str]]]:
        """(folder, path inside it) pairs a URL below /output may lead to: the reference library or the storages."""
        if parts and parts[0].startswith("tmap-"):
            return [(self.reference_root / parts[0], parts[1:])]
        return [(root, parts) for root in self.storage_roots()]

    def plugin_report_dir(self, headers, params: dict) -> Optional[Path]:
        """A plugin job's credentials: the folder of the report its plugin result belongs to."""
        scheme, _, credentials = (headers.get("Authorization", "") or "").partition(" ")
        pk = None
        if scheme.lower() == "pluginkey":
            pk = credentials.strip().rpartition(":")[0]
        elif "pluginresult" in params and "api_key" in params:
            pk = params["pluginresult"][-1]
        if pk is None:
            return None
        try:
            pr_id = int(pk)
        except ValueError:
            return None
        row = self.store.db.execute_sql(
            'SELECT r."reportLink", s."webServerPath", s."dirPath" FROM "pluginresult" p '
            'JOIN "results" r ON r.id = p.result_id JOIN "reportstorage" s ON s.id = r.reportstorage_id '
            'WHERE p.id = ?', (pr_id,)).fetchone()
        if row is None:
            return None
        folder = report_dir({"webServerPath": row[1], "dirPath": row[2]}, row[0] or "")
        return Path(folder) if folder else None

    # ---- the request ---------------------------------------------------------------------------------

    def serve(self, path: str):
        request = bottle.request
        params = parse_qs(request.query_string, keep_blank_values=True)
        auth = self.api.auth
        user = auth.authenticate(request.headers, params, request.remote_addr, request.method)
        if user is None:
            # A page of another site that made the browser ask gets no password prompt either.
            refused = auth.loopback_refusal(request.method, request.headers, request.remote_addr)
            return bottle.HTTPResponse(b"", 401, {} if refused else unauthorized().headers)
        raw = request.environ.get("REQUEST_URI", "").partition("?")[0]
        parts = safe_parts(path, raw)
        if parts is None:
            return not_found()
        confined = self.plugin_report_dir(request.headers, params)
        if not parts:
            return bottle.HTTPResponse(b"", 401) if confined is not None else self.listing_of_roots(request)
        for root, inside in self.roots_for(parts):
            target = contained(root, inside)
            if target is None:
                continue
            if confined is not None and contained(confined, []) not in (target, *target.parents):
                return bottle.HTTPResponse(b"", 401)
            try:
                return self.respond(target, root, request)
            except OSError:
                return not_found()
        return not_found()

    def respond(self, target: Path, root: Path, request):
        info = target.stat()
        if stat.S_ISDIR(info.st_mode):
            if not request.path.endswith("/"):
                return bottle.HTTPResponse(b"", 301, {"Location": quote(request.fullpath + "/")})
            return html_page(request, listing(target, root, request.fullpath))
        if not stat.S_ISREG(info.st_mode):
            return not_found()
        return send_file(target, info, request)

    def listing_of_roots(self, request):
        names = {}
        for root in [*self.storage_roots(), *sorted(self.reference_root.glob("tmap-*"))]:
            try:
                if root.parent == self.reference_root:
                    names[root.name] = root
                else:
                    names.update({e.name: Path(e.path) for e in os.scandir(root) if e.is_dir()})
            except OSError:
                continue
        rows = [(name + "/", path.stat(), True) for name, path in sorted(names.items())]
        return html_page(request, render_listing(request.fullpath, rows))


def safe_parts(path: str, raw: str) -> Optional[list[str]]:
    """The URL's path segments, or None when it tries to leave its folder (.., NUL, encoded slash)."""
    if "\0" in path or "\\" in path or re.search(r"%(2f|5c|00)", raw, re.IGNORECASE):
        return None
    parts = path.split("/")
    if parts and parts[-1] == "":
        parts = parts[:-1]
    if any(part in ("", ".", "..") for part in parts):
        return None
    return parts


def contained(root: Path, parts: list[str]) -> Optional[Path]:
    """root/parts with every symlink resolved, if it exists and stays inside root; else None."""
    try:
        base = root.resolve(strict=True)
        target = base.joinpath(*parts).resolve(strict=True)
    except (OSError, RuntimeError, ValueError):
        return None
    if target != base and base not in target.parents:
        return None
    return target


def not_found():
    return bottle.HTTPResponse(b"<html><body><h1>Not Found</h1></body></html>", 404,
                               {"Content-Type": "text/html; charset=utf-8"})


def html_page(request, text: str):
    body = text.encode("utf-8")
    headers = {"Content-Type": "text/html; charset=utf-8", "Content-Length": str(len(body)),
               "Cache-Control": "no-cache"}
    return bottle.HTTPResponse(b"" if request.method == "HEAD" else body, 200, headers)


def listing(folder: Path, root: Path, url_path: str) -> str:
    rows, base = [], root.resolve()
    for entry in sorted(os.scandir(folder), key=lambda e: e.name):
        try:
            if entry.is_symlink() and base not in Path(entry.path).resolve(strict=True).parents:
                continue  # a link leading out of the storage is neither listed nor served
            info = entry.stat()
        except (OSError, RuntimeError):
            continue
        is_dir = stat.S_ISDIR(info.st_mode)
        rows.append((entry.name + ("/" if is_dir else ""), info, is_dir))
    rows.sort(key=lambda row: (not row[2], row[0]))
    return render_listing(url_path, rows)


def render_listing(url_path: str, rows) -> str:
    title = html.escape(f"Index of {url_path}")
    lines = [f"<!DOCTYPE html><html><head><meta charset=\"utf-8\"><title>{title}</title></head><body>",
             f"<h1>{title}</h1>", "<table><tr><th>Name</th><th>Last modified</th><th>Size</th></tr>",
             '<tr><td><a href="../">Parent Directory</a></td><td></td><td>-</td></tr>']
    for name, info, is_dir in rows:
        size = "-" if is_dir else human_size(info.st_size)
        modified = formatdate(info.st_mtime, usegmt=True)
        lines.append(f'<tr><td><a href="{html.escape(quote(name), quote=True)}">{html.escape(name)}</a></td>'
                     f'<td>{modified}</td><td title="{0 if is_dir else info.st_size}">{size}</td></tr>')
    lines.append("</table></body></html>")
    return "\n".join(lines) + "\n"


def human_size(size: int) -> str:
    for unit in ("", "K", "M", "G"):
        if size < 1024 or unit == "G":
            return f"{size}{unit}" if unit == "" else f"{size:.1f}{unit}"
        size /= 1024
    return str(size)


# ---- one file: conditional GET, Range, streaming -------------------------------------------------------

def etag_of(info: os.stat_result) -> str:
    return f'"{info.st_ino:x}-{info.st_size:x}-{info.st_mtime_ns:x}"'


def not_modified(request, info: os.stat_result, etag: str) -> bool:
    match = request.headers.get("If-None-Match")
    if match is not None:
        tags = [tag.strip() for tag in match.split(",")]
        return "*" in tags or etag in tags or f"W/{etag}" in tags
    since = request.headers.get("If-Modified-Since")
    if since:
        try:
            return int(info.st_mtime) <= parsedate_to_datetime(since).timestamp()
        except (TypeError, ValueError, IndexError, OverflowError):
            return False
    return False


def byte_range(header: Optional[str], size: int):
    """(start, end) inclusive for a single satisfiable range, "unsatisfiable", or None to send everything."""
    if not header:
        return None
    found = _RANGE.match(header.strip())
    if not found or found.group(1) == found.group(2) == "":
        return None  # a malformed or multi-part Range is ignored, as RFC 9110 allows
    first, last = found.groups()
    if first == "":
        length = int(last)
        if length == 0:
            return "unsatisfiable"
        return max(0, size - length), size - 1
    start = int(first)
    end = min(int(last), size - 1) if last else size - 1
    if last and int(last) < start:
        return None
    if start >= size:
        return "unsatisfiable"
    return start, end


def send_file(path: Path, info: os.stat_result, request):
    etag = etag_of(info)
    headers = {"Content-Type": content_type(path.name), "ETag": etag, "Accept-Ranges": "bytes",
               "Last-Modified": formatdate(info.st_mtime, usegmt=True)}
    if not_modified(request, info, etag):
        return bottle.HTTPResponse(b"", 304, headers)
    size = info.st_size
    wanted = byte_range(request.headers.get("Range"), size)
    if_range = request.headers.get("If-Range")
    if wanted is not None and if_range and if_range not in (etag, headers["Last-Modified"]):
        wanted = None
    if wanted == "unsatisfiable":
        headers["Content-Range"] = f"bytes */{size}"
        return bottle.HTTPResponse(b"", 416, headers)
    status, start, end = 200, 0, size - 1
    if wanted is not None:
        status, (start, end) = 206, wanted
        headers["Content-Range"] = f"bytes {start}-{end}/{size}"
    headers["Content-Length"] = str(end - start + 1)
    if request.method == "HEAD" or end < start:
        return bottle.HTTPResponse(b"", status, headers)
    handle = open(path, "rb")
    return bottle.HTTPResponse(stream(handle, start, end - start + 1), status, headers)


def stream(handle, start: int, length: int) -> Iterator[bytes]:
    """The bytes start..start+length of an open file, CHUNK at a time; the file is closed at the end."""
    try:
        handle.seek(start)
        while length > 0:
            block = handle.read(min(CHUNK, length))
            if not block:
                break
            length -= len(block)
            yield block
    finally:
        handle.close()


def mount(wsgi: bottle.Bottle, api, data_path: Path) -> OutputFiles:
    """Route /output/... (and its /auth/output alias) of `wsgi` to the report storages."""
    files = OutputFiles(api, data_path)
    for prefix in PREFIXES:
        wsgi.route(prefix, ["GET", "HEAD"],
                   lambda prefix=prefix: bottle.HTTPResponse(b"", 301, {"Location": prefix + "/"}))
        wsgi.route(prefix + "/", ["GET", "HEAD"], lambda: files.serve(""))
        wsgi.route(prefix + "/<path:path>", ["GET", "HEAD"], files.serve)
    return files
