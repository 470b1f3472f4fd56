"""The Torrent Browser pages: sign-in, runs, reports, plugins, jobs, plans and status, with their static files."""
from __future__ import annotations

import bottle

from torrentlite import __version__
from torrentlite.web.core import HERE, TEMPLATES, Pages

STATIC = HERE / "static"


def wants_page(request) -> bool:
    """A browser asking for something outside the API and the served files gets an HTML error page."""
    path = request.path
    return "text/html" in (request.headers.get("Accept") or "") and not path.startswith(("/rundb/", "/output/"))


def error_page(error: bottle.HTTPError) -> str:
    bottle.response.content_type = "text/html; charset=utf-8"
    title = "Page not found" if error.status_code == 404 else error.status_line
    message = ("There is no page at this address." if error.status_code == 404 else
               "This request could not be processed." if error.status_code >= 500 else error.status_line)
    return bottle.template("message.tpl", template_lookup=TEMPLATES, title=title, message=message, visitor=None,
                           notice="", error="", version=__version__, path=bottle.request.path)


def mount(wsgi: bottle.Bottle, api, scheduler=None) -> Pages:
    """Add the pages and /static/ to `wsgi`; they read and write through `api` (and `scheduler` for jobs)."""
    from torrentlite.web import pages_jobs, pages_plans, pages_plugins, pages_report, pages_runs, pages_session

    pages = Pages(api, scheduler)

    def static(path: str):
        response = bottle.static_file(path, root=str(STATIC))
        response.set_header("Cache-Control", "max-age=3600")
        return response

    def root():
        # Browsers get the runs list; scripts asking for anything else keep getting the API index.
        accept = bottle.request.headers.get("Accept") or ""
        target = "/runs" if "text/html" in accept else "/rundb/api/v1/"
        return bottle.HTTPResponse(b"", 302, {"Location": target})

    wsgi.route("/static/<path:path>", ["GET"], static)
    wsgi.route("/", ["GET"], root)
    for module in (pages_session, pages_runs, pages_report, pages_plugins, pages_jobs, pages_plans):
        module.register(wsgi, pages)
    return pages
