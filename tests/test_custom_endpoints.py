"""The endpoints that report on this box answer with this box's facts: network/, torrentsuite/,
getsoftwareinfo/ and account/."""
from __future__ import annotations

import socket

import psutil

from torrentlite import __version__
from torrentlite.store.users import Users

API = "/rundb/api/v1/"


def test_network_reports_this_machines_interfaces(reader):
    body = reader.get(f"{API}network/").json()
    assert set(body) == {"eth_device", "external_ip", "internal_ip", "route"}
    stats = psutil.net_if_stats()
    addresses = [a.address for name, addrs in psutil.net_if_addrs().items()
                 if name != "lo" and stats.get(name) and stats[name].isup
                 for a in addrs if a.family == socket.AF_INET and not a.address.startswith("127.")]
    assert body["eth_device"] == bool(addresses)
    assert body["internal_ip"] == (addresses[0] if addresses else None)
    with open("/proc/net/route") as fh:
        default_route = any(line.split()[1] == "00000000" for line in fh.readlines()[1:] if line.strip())
    assert body["route"] == default_route
    assert body["external_ip"] == ""   # never looked up: this server does not call out


def test_torrentsuite_reports_the_package_version(reader):
    body = reader.get(f"{API}torrentsuite/").json()
    assert body == {"versions": {"torrentlite": __version__}, "meta_version": __version__, "locked": False,
                    "logs": False}
    assert reader.get(f"{API}torrentsuite/version/").json() == {"meta_version": __version__}


def test_getsoftwareinfo_follows_the_global_configuration(client, anonymous):
    config = client.get(f"{API}globalconfig/").json()["objects"][0]
    body = anonymous.get(f"{API}getsoftwareinfo/").json()
    assert body == {"site_name": config["site_name"], "software_release_version": __version__,
                    "server_mode": "ruo", "software_platform": "TS"}
    patched = client.patch(config["resource_uri"], json_body={"site_name": "Sequencing core, room 2"})
    assert patched.status == 202, patched.body
    assert anonymous.get(f"{API}getsoftwareinfo/").json()["site_name"] == "Sequencing core, room 2"


def test_account_is_the_callers_own(client, app):
    body = client.get(f"{API}account/").json()
    [me] = body["objects"]
    assert me["username"] == "ionadmin" and me["admin"] is True
    assert me["api_key"] == Users(app.store).api_key("ionadmin")
    assert client.get(me["resource_uri"]).json() == me
