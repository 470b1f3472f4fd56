"""Downloads by URL below filemonitor/: start one, cancel it, resume it (the rows are filemonitor/'s own)."""
from __future__ import annotations

from torrentlite.api.errors import ApiError, bad_request
from torrentlite.api.http import Api, Call, Response
from torrentlite.datamgmt import filemonitor


def register(api: Api, downloads: filemonitor.Downloads) -> None:
    """Downloads go into the data directory's `downloads/` folder, one folder per download."""

    def require(call: Call) -> None:
        if not call.user.can("add", "filemonitor"):
            raise ApiError(401)

    def answer(call: Call, pk: int, status: int) -> Response:
        body = api.read.detail(api.registry["filemonitor"], str(pk), {}, user=call.user)
        return Response(status, body)

    @api.endpoint("filemonitor", r"download/", ("POST",))
    def start(call: Call) -> Response:
        require(call)
        body = call.json()
        if not isinstance(body, dict) or not isinstance(body.get("url"), str):
            raise bad_request("Give the file's url")
        fields = {k: body.get(k) or "" for k in ("name", "md5sum", "tags")}
        if not all(isinstance(v, str) for v in fields.values()):
            raise bad_request("name, md5sum and tags must be text")
        try:
            pk = filemonitor.create(api.store, body["url"], name=fields["name"], md5sum=fields["md5sum"],
                                    tags=fields["tags"])
        except ValueError as exc:
            raise bad_request(str(exc))
        downloads.start(pk)
        return answer(call, pk, 202)

    @api.endpoint("filemonitor", r"(?P<pk>\d+)/", ("GET", "PUT", "PATCH", "DELETE"), auth=False,
                  check_methods=False)
    def detail(call: Call) -> Response:
        # Deleting a monitor stops its download and removes its folder first, as on Torrent Suite
        # (only folders below this server's downloads folder); every other method is the standard one.
        if call.method == "DELETE":
            api._authenticate(call)
            if not call.user.can("delete", "filemonitor"):
                raise ApiError(401)
            mon = filemonitor.row(api.store, int(call.match["pk"]))
            if mon is not None:
                downloads.discard(mon["id"])
        return api._standard(api.registry["filemonitor"], call, call.match["pk"])

    @api.endpoint("filemonitor", r"(?P<pk>\d+)/(?P<op>cancel|resume)/", ("POST",))
    def control(call: Call) -> Response:
        require(call)
        pk = int(call.match["pk"])
        mon = filemonitor.row(api.store, pk)
        if mon is None:
            raise ApiError(404)
        if call.match["op"] == "cancel":
            if not downloads.cancel(pk):
                raise ApiError(409, {"error": f"download {pk} is {mon['status']}: nothing to cancel"})
        else:
            if mon["status"] in ("Complete", "Cancelled") or mon["status"].startswith(("HTTP Error", "Invalid")):
                raise ApiError(409, {"error": f"download {pk} is {mon['status']}: nothing to resume"})
            downloads.start(pk)
        return answer(call, pk, 202)
