"""The pages through the WSGI app: sign-in and sessions, CSRF on every form, and each page's HTML."""
from __future__ import annotations

import io
import json
import re
import zipfile
from pathlib import Path
from urllib.parse import urlencode

import pytest

from conftest import Client
from runplugins import add_plugin
from torrentlite.store.sessions import Sessions
from torrentlite.store.users import Users

PASSWORD = "correct horse"
FORM = {"Content-Type": "application/x-www-form-urlencoded"}
PAGES = ("/runs", "/report/1", "/report/1/select", "/plugins", "/jobs", "/status", "/plans", "/plans/1", "/user")


def cookie_of(response, name: str) -> str:
    match = re.search(rf"{name}=([^;]*)", response.headers.get("Set-Cookie", ""))
    return match.group(1) if match else ""


def sign_in(app, username="ionadmin", password=PASSWORD) -> Client:
    """A client holding a session cookie, with its CSRF token as `client.csrf`."""
    client = Client(app)
    form = client.get("/login")
    token = re.search(rb'name="csrf_token" value="([^"]+)"', form.body).group(1).decode()
    response = client.post("/login", data=urlencode({"username": username, "password": password,
                                                     "csrf_token": token, "next": "/runs"}),
                           headers={**FORM, "Cookie": f"tlsignin={cookie_of(form, 'tlsignin')}"})
    assert response.status == 303, response.body
    client.headers["Cookie"] = f"tlsession={cookie_of(response, 'tlsession')}"
    page = client.get("/runs")
    client.csrf = re.search(rb'name="csrf-token" content="([^"]+)"', page.body).group(1).decode()
    return client


def post_form(client, path, fields=None, csrf=True):
    fields = dict(fields or {})
    if csrf:
        fields["csrf_token"] = client.csrf
    return client.post(path, data=urlencode(fields), headers=FORM)


@pytest.fixture
def web(app):
    Users(app.store).set_password("ionadmin", PASSWORD)
    return app


@pytest.fixture
def browser(web):
    return sign_in(web)


@pytest.fixture
def plugin_env(web, tmp_path):
    web.scheduler.settings["plugin_memory_floor_mb"] = 0
    yield tmp_path
    web.scheduler.stop()


# -- sessions --------------------------------------------------------------------------------------------------
def test_anonymous_visitors_only_see_sign_in(web):
    anonymous = Client(web)
    for path in PAGES + ("/report/1/plugins", "/jobs/active"):
        response = anonymous.get(path)
        assert response.status == 303 and response.headers["Location"].startswith("/login?next="), path
    assert anonymous.get("/jobs/active", headers={"HX-Request": "true"}).status == 401
    for path in ("/logout", "/report/1/plugins/run", "/plugins/install", "/plugins/1/disable", "/jobs/1/cancel"):
        assert anonymous.post(path, data="csrf_token=x", headers=FORM).status == 401, path
    page = anonymous.get("/login")
    assert page.status == 200 and b'<label for="password">' in page.body and b"Runs</a>" not in page.body


def test_sign_in_refuses_wrong_passwords_and_forged_forms(web):
    client = Client(web)
    form = client.get("/login")
    token = cookie_of(form, "tlsignin")
    bad = client.post("/login", data=urlencode({"username": "ionadmin", "password": "nope", "csrf_token": token}),
                      headers={**FORM, "Cookie": f"tlsignin={token}"})
    assert bad.status == 401 and b"Wrong username or password" in bad.body and "tlsession" not in bad.headers.get(
        "Set-Cookie", "")
    forged = client.post("/login", data=urlencode({"username": "ionadmin", "password": PASSWORD,
                                                   "csrf_token": "guess"}), headers={**FORM, "Cookie": f"tlsignin={token}"})
    assert forged.status == 403 and "tlsession" not in forged.headers.get("Set-Cookie", "")


def test_session_cookie_flags_and_safe_next(web):
    client = Client(web)
    form = client.get("/login")
    token = cookie_of(form, "tlsignin")
    response = client.post("/login", data=urlencode({"username": "ionadmin", "password": PASSWORD, "csrf_token": token,
                                                     "next": "//evil.example/x"}),
                           headers={**FORM, "Cookie": f"tlsignin={token}"})
    cookie = response.headers["Set-Cookie"]
    assert response.headers["Location"] == "/runs"
    assert "HttpOnly" in cookie and "SameSite=lax" in cookie.replace("Lax", "lax") and "Max-Age=" in cookie


def test_sessions_expire(web):
    now = [1000.0]
    sessions = Sessions(web.store, lifetime=60, clock=lambda: now[0])
    token, session = sessions.create(1)
    assert sessions.get(token) == session
    now[0] += 61
    assert sessions.get(token) is None


def test_an_expired_session_is_signed_out(web, browser):
    web.store.db.execute_sql('UPDATE "websession" SET expires = 0')
    assert browser.get("/runs").status == 303


def test_sign_out_ends_the_session(web, browser):
    assert post_form(browser, "/logout").status == 303
    assert browser.get("/runs").status == 303


def test_a_new_password_ends_sessions(web, browser):
    Users(web.store).set_password("ionadmin", "another one")
    assert browser.get("/runs").status == 303


def test_the_api_accepts_the_session_with_its_csrf_header(web, browser):
    assert browser.get("/rundb/api/v1/results/?limit=1").status == 200
    body = {"name": "from-a-browser", "creator": "/rundb/api/v1/user/1/"}
    refused = browser.post("/rundb/api/v1/project/", json_body=body)
    assert refused.status == 403 and "CSRF" in refused.json()["error"]
    assert browser.post("/rundb/api/v1/project/", json_body=body, headers={"X-CSRFToken": browser.csrf}).status == 201
    assert Client(web).get("/rundb/api/v1/results/?limit=1").status == 401


def test_every_form_needs_the_csrf_token(web, browser, plugin_env):
    add_plugin(web.store, plugin_env / "plugins", plugin_env / "events", "Hello", "")
    assert browser.post("/rundb/api/v1/results/1/plugin/", json_body={"plugin": "Hello"},
                        headers={"X-CSRFToken": browser.csrf}).status == 202
    web.scheduler.run_until_idle(timeout=20)
    pr = web.store.db.execute_sql('SELECT id FROM "pluginresult"').fetchone()[0]
    actions = set()
    for page in PAGES:
        for action in re.findall(rb'<form method="post" action="([^"]+)"', browser.get(page).body):
            actions.add(action.decode())
    expected = {"/logout", "/report/1/plugins/run", f"/report/1/plugins/{pr}/rerun", f"/report/1/plugins/{pr}/remove",
                "/plugins/install"}
    assert expected <= actions
    for action in sorted(actions):
        refused = post_form(browser, action, {"plugin": "Hello"}, csrf=False)
        assert refused.status == 403 and b"security token" in refused.body, action
    assert web.store.db.execute_sql('SELECT count(*) FROM "pluginresult"').fetchone()[0] == 1
    assert browser.get("/runs").status == 200


def test_loopback_browsers_are_signed_in_when_loopback_is_trusted(web):
    local = Client(web, remote_addr="127.0.0.1")
    response = local.get("/runs")
    assert response.status == 200 and "tlsession=" in response.headers["Set-Cookie"]
    assert local.get("/runs", headers={"Sec-Fetch-Site": "cross-site"}).status == 303
    web.api.auth.trust_loopback = False
    assert local.get("/runs").status == 303


def test_first_serve_gives_ionadmin_a_password_once(app):
    users = Users(app.store)
    app.store.db.execute_sql('UPDATE "user" SET password = ? WHERE username = ?', ("!", "ionadmin"))
    password = users.first_admin_password()
    assert password and users.password_ok("ionadmin", password)
    assert users.first_admin_password() is None


# -- pages -----------------------------------------------------------------------------------------------------
def test_root_sends_browsers_to_the_runs(web):
    assert Client(web).get("/", headers={"Accept": "text/html"}).headers["Location"] == "/runs"


def test_runs_search_filter_sort_and_page(browser):
    page = browser.get("/runs").body.decode()
    assert "3 reports" in page and page.count('<a href="/report/') == 3
    found = browser.get("/runs?" + urlencode({"q": "ampliseq"})).body.decode()
    assert "1 report<" in found and "AmpliSeq_CHP2_4plex" in found
    by_chip = browser.get("/runs?chip=540").body.decode()
    assert "1 report<" in by_chip and "NA12878_low_pass_WGS" in by_chip
    assert "0 reports" in browser.get("/runs?from=2017-04-06").body.decode()
    assert "1 report<" in browser.get("/runs?from=2017-04-04&to=2017-04-04").body.decode()
    assert "0 reports" in browser.get("/runs?status=Error").body.decode()
    assert "2 reports" in browser.get("/runs?instrument=S5XL01").body.decode()
    names = re.findall(r'<a href="/report/\d+">([^<]+)</a>', browser.get("/runs?sort=name").body.decode())
    assert names == sorted(names)
    bad = browser.get("/runs?from=yesterday&page=abc")
    assert bad.status == 200 and b"is not a date" in bad.body


def test_report_page_blocks(browser):
    page = browser.get("/report/2").body.decode()
    for text in ("Auto_user_S5XL01-41-AmpliSeq_CHP2_4plex_9", "ISP loading", "Total reads", "Q20 bases",
                 "IonXpress_001", "NA12878", "Select plugins to run", "basecaller_results/datasets_basecaller.json",
                 'data-plot="wells"', 'data-plot="barcodes"', "No plugin has run on this report."):
        assert text in page, text
    plots = json.loads(re.search(r'<script type="application/json" id="plot-data">(.*?)</script>', page, re.S).group(1))
    assert [b for b, _ in plots["barcodes"]][:2] == ["IonXpress_001", "IonXpress_002"]
    assert sum(count for _, count in plots["lengths"]) > 0 and plots["bases"][0][0] == "Total (Q0)"
    assert browser.get("/report/999999").status == 404


def test_plugin_section_runs_stops_removes_and_polls(web, browser, plugin_env):
    add_plugin(web.store, plugin_env / "plugins", plugin_env / "events", "Hello",
               "open('Hello_block.html', 'w').write('<p>hello block</p>'); open('out.txt', 'w').write('x')")
    choices = browser.get("/report/1/select").body.decode()
    assert "<h1>Select plugins to run</h1>" in choices and 'name="plugin" value="Hello"' in choices
    first = browser.get("/report/1/plugins?sig=x")
    signature = re.search(rb'sig=([0-9a-f]+)', first.body).group(1).decode()
    assert browser.get(f"/report/1/plugins?sig={signature}").status == 204
    queued = post_form(browser, "/report/1/plugins/run", {"plugin": "Hello"})
    assert queued.status == 303 and "notice=Hello+queued" in queued.headers["Location"]
    assert browser.get(f"/report/1/plugins?sig={signature}").status == 200
    web.scheduler.run_until_idle(timeout=20)
    section = browser.get("/report/1/plugins").body.decode()
    assert 'data-state="Completed"' in section and "Hello_block.html" in section and "out.txt" in section
    assert "View log" in section and "Peak memory" in section and "Wall time" in section
    pr = int(re.search(r'id="plugin-(\d+)"', section).group(1))
    assert post_form(browser, f"/report/1/plugins/{pr}/rerun").status == 303
    web.scheduler.run_until_idle(timeout=20)
    assert browser.get("/report/1/plugins").body.decode().count('class="plugin"') == 2
    assert "not+part+of+this+report" in post_form(browser, f"/report/2/plugins/{pr}/remove").headers["Location"]
    assert post_form(browser, f"/report/1/plugins/{pr}/remove").status == 303
    assert browser.get("/report/1/plugins").body.decode().count('class="plugin"') == 1
    unknown = post_form(browser, "/report/1/plugins/run", {"plugin": "Nope"})
    assert "error=" in unknown.headers["Location"]


def plugin_zip_bytes(name="Uploaded", extra=None) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr(f"{name}/{name}.py", f'from ion.plugin import *\n\n\nclass {name}(IonPlugin):\n'
                                              f'    """Uploaded from the page."""\n    version = "1.2"\n\n'
                                              f'    def launch(self, data=None):\n        return True\n')
        for rel, text in (extra or {}).items():
            archive.writestr(f"{name}/{rel}", text)
    return buffer.getvalue()


def upload(client, filename, data, xhr=False):
    boundary = "testboundary"
    body = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"csrf_token\"\r\n\r\n{client.csrf}\r\n"
            f"--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"{filename}\"\r\n"
            f"Content-Type: application/zip\r\n\r\n").encode() + data + f"\r\n--{boundary}--\r\n".encode()
    headers = {"Content-Type": f"multipart/form-data; boundary={boundary}"}
    if xhr:
        headers["X-Requested-With"] = "XMLHttpRequest"
    return client.post("/plugins/install", data=body, headers=headers)


def test_plugins_page_upload_enable_default_and_uninstall(web, browser):
    done = upload(browser, "Uploaded.zip", plugin_zip_bytes(extra={"config.html": "<p>cfg</p>"}), xhr=True)
    assert done.status == 200 and done.json() == {"ok": True, "message": "Installed Uploaded 1.2."}
    refused = upload(browser, "notes.txt", b"hello", xhr=True)
    assert refused.status == 400 and "not a .zip archive" in refused.json()["message"]
    broken = upload(browser, "broken.zip", b"PK not really")
    assert broken.status == 303 and "error=" in broken.headers["Location"]
    page = browser.get("/plugins").body.decode()
    pk = int(re.search(r'id="plugin-(\d+)"', page).group(1))
    assert "Uploaded" in page and "1.2" in page and f"/configure/plugins/plugin/{pk}/configure/config/" in page
    assert post_form(browser, f"/plugins/{pk}/disable").status == 303
    assert web.api.plugins.get(pk)["selected"] is False
    assert post_form(browser, f"/plugins/{pk}/default-on").status == 303
    assert web.api.plugins.get(pk)["defaultSelected"] is True
    assert "Select by default" not in browser.get("/plugins").body.decode()
    assert post_form(browser, f"/plugins/{pk}/uninstall").status == 303
    assert f'id="plugin-{pk}"' not in browser.get("/plugins").body.decode()


def test_plugin_admin_needs_an_administrator(web):
    Users(web.store).create("tech", PASSWORD, permissions=("change_results",))
    tech = sign_in(web, "tech")
    assert "error=" in upload(tech, "Uploaded.zip", plugin_zip_bytes()).headers["Location"]
    assert web.api.plugins.rows() == []


def test_jobs_status_and_plans_pages(web, browser, plugin_env):
    add_plugin(web.store, plugin_env / "plugins", plugin_env / "events", "Hello", "")
    post_form(browser, "/report/1/plugins/run", {"plugin": "Hello"})
    queued = browser.get("/jobs").body.decode()
    assert "Hello 1.0" in queued and "Slots in use" in queued and "memory floor" in queued
    web.scheduler.run_until_idle(timeout=20)
    finished = browser.get("/jobs").body.decode()
    assert "No plugin job is queued or running." in finished and "Completed" in finished
    status = browser.get("/status").body.decode()
    for text in ("Data directory", str(web.settings.data_path), "Database size", "Scheduler", "Report storage"):
        assert text in status, text
    plans = browser.get("/plans").body.decode()
    assert "Planned runs" in plans and '<a href="/plans/' in plans
    assert "Templates" in browser.get("/plans?kind=templates").body.decode()
    pk = re.search(r'<a href="/plans/(\d+)">', plans).group(1)
    assert "Selected plugins" in browser.get(f"/plans/{pk}").body.decode()
    assert browser.get("/plans/999999").status == 404


def test_static_files_and_vendored_licences(web):
    client = Client(web)
    for path in ("/static/site.css", "/static/vendor/htmx/htmx.min.js", "/static/vendor/htmx/LICENSE",
                 "/static/vendor/uplot/uPlot.iife.min.js", "/static/vendor/uplot/LICENSE"):
        assert client.get(path).status == 200, path
    assert client.get("/static/../app.py").status in (403, 404)


def test_filtered_runs_count_up_to_a_cap_and_keep_paging(browser, monkeypatch):
    from torrentlite.web import pages_runs

    monkeypatch.setattr(pages_runs, "PAGE_SIZE", 2)
    monkeypatch.setattr(pages_runs, "COUNT_CAP", 1)
    first = browser.get("/runs?status=Completed").body.decode()
    assert "more than 1 reports" in first and 'rel="next"' in first and "Page 1<" in first
    last = browser.get("/runs?status=Completed&page=2").body.decode()
    assert "2 reports" not in last and last.count('<a href="/report/') == 1 and 'rel="next"' not in last
    assert "3 reports" in browser.get("/runs").body.decode()


def test_a_plans_page_shows_its_plugins_plan_pages(web, browser, tmp_path):
    archive = tmp_path / "Planned.zip"
    archive.write_bytes(plugin_zip_bytes("Planned", extra={"plan.html": "<p>plan settings</p>"}))
    pk = web.api.plugins.install_zip(archive)["id"]
    plan = browser.get("/rundb/api/v1/plannedexperiment/?limit=1&isReusable=false").json()["objects"][0]
    patched = browser.patch(f"/rundb/api/v1/plannedexperiment/{plan['id']}/", headers={"X-CSRFToken": browser.csrf},
                            json_body={"selectedPlugins": {"Planned": {"name": "Planned", "version": "1.2",
                                                                       "userInput": {"depth": 3}},
                                                           "Missing": {"name": "Missing"}}})
    assert patched.status in (202, 204), patched.body
    page = browser.get(f"/plans/{plan['id']}").body.decode()
    assert f'<iframe src="/configure/plugins/plugin/{pk}/configure/plan/?' in page
    assert "Missing" in page and "not installed" in page and "depth" in page


def test_keys_beyond_64_bits_are_not_found_not_errors(web, browser):
    huge = "99999999999999999999999"
    api = Client(web, {"X-CSRFToken": browser.csrf, **browser.headers})
    assert api.post(f"/rundb/api/v1/results/{huge}/plugin/", json_body={"plugin": "x"}).status == 404
    assert api.post("/rundb/api/v1/results/1/plugin/", json_body={"plugin": "x", "pluginresult": huge}).status == 400
    assert api.get(f"/rundb/api/v1/pluginresult/{huge}/stop/").status == 404
    assert api.delete(f"/rundb/api/v1/pluginresult/{huge}/delete/").status == 404
    assert "error=Not+found." in post_form(browser, f"/jobs/{huge}/cancel").headers["Location"]
    assert browser.get(f"/report/{huge}").status == 404


def test_broken_uploads_and_redirects_keep_the_fragment_last(browser):
    garbage = browser.post("/plugins/install", data=b"garbage", headers={
        "Content-Type": "multipart/form-data; boundary=zz", "X-CSRFToken": browser.csrf})
    assert garbage.status == 303 and "error=The+upload+could+not+be+read" in garbage.headers["Location"]
    missing = post_form(browser, "/report/1/plugins/run", {"plugin": "Nope"})
    assert missing.headers["Location"].startswith("/report/1?error=") and missing.headers["Location"].endswith(
        "#plugins")


def test_report_links_the_bams_that_exist(web, browser):
    folder = next(iter(web.store.db.execute_sql('SELECT "dirPath" FROM "reportstorage" WHERE name = ?', ("Demo",))))[0]
    report = Path(folder) / "Home" / "Auto_user_S5XL01-41-AmpliSeq_CHP2_4plex_9_002"
    # The demo ships every barcode's BAM: take two away, and give one of them a download link instead.
    (report / "IonXpress_002_rawlib.bam").unlink()
    (report / "IonXpress_003_rawlib.bam").unlink()
    (report / "download_links").mkdir()
    (report / "download_links" / "R_run.IonXpress_002_rawlib.bam").write_bytes(b"BAM\x01")
    page = browser.get("/report/2").body.decode()
    link = "/output/Home/Auto_user_S5XL01-41-AmpliSeq_CHP2_4plex_9_002/"
    for barcode in ("IonXpress_001", "IonXpress_004"):
        assert f'<a href="{link}{barcode}_rawlib.bam" download>BAM</a>' in page
    assert f'href="{link}download_links/R_run.IonXpress_002_rawlib.bam"' in page
    assert "IonXpress_003_rawlib.bam" not in page and f'{link}IonXpress_002_rawlib.bam"' not in page


def test_jobs_page_shows_a_running_jobs_use_and_cancels_it(web, browser, plugin_env):
    import time

    add_plugin(web.store, plugin_env / "plugins", plugin_env / "events", "Slow", "import time; time.sleep(60)")
    post_form(browser, "/report/1/plugins/run", {"plugin": "Slow"})
    deadline = time.monotonic() + 30
    while "state-Started" not in browser.get("/jobs/active").body.decode() and time.monotonic() < deadline:
        web.scheduler.tick()
        time.sleep(0.1)
    active = browser.get("/jobs/active").body.decode()
    assert "state-Started" in active and "Slots in use: <strong>1 of 2</strong>" in active
    assert re.search(r"<td>\d+\.\d s</td><td>[\d.]+ (KiB|MiB)</td>", active), active
    pr = re.search(r'action="/jobs/(\d+)/cancel"', active).group(1)
    assert "notice=Stop+requested" in post_form(browser, f"/jobs/{pr}/cancel").headers["Location"]
    web.scheduler.run_until_idle(timeout=20)
    finished = browser.get("/jobs").body.decode()
    assert "No plugin job is queued or running." in finished and "Cancelled" in finished


def test_runs_show_reads_and_q20_bases(browser):
    page = browser.get("/runs?chip=530").body.decode()
    # The demo runs are small: their Q20 bases are shown in bp (Mbp and Gbp from a million up).
    assert re.search(r'<td class="num">\d{1,3}(,\d{3})+</td><td class="num">([\d.]+ [MG]bp|[\d,]+ bp)</td>', page)


def test_browsers_get_an_html_page_for_unknown_addresses(web):
    page = Client(web).get("/no-such-page", headers={"Accept": "text/html"})
    assert page.status == 404 and b"<h1>Page not found</h1>" in page.body
    assert Client(web).get("/no-such-page").body.startswith(b"{")
    assert Client(web).get("/rundb/api/v1/nothing-here/", headers={"Accept": "text/html"}).body[:1] in (b"{", b"")


def test_forms_and_side_effect_gets_refuse_other_sites(web, browser):
    foreign = {"Origin": "http://evil.example"}
    refused = browser.post("/plugins/1/disable", data=f"csrf_token={browser.csrf}", headers={**FORM, **foreign})
    assert refused.status == 403
    other_site = {"Sec-Fetch-Site": "cross-site"}
    assert browser.get("/rundb/api/v1/results/?limit=1", headers=other_site).status == 401
    assert browser.get("/rundb/api/v1/results/?limit=1", headers={"Sec-Fetch-Site": "same-origin"}).status == 200
    rebinding = Client(web, remote_addr="127.0.0.1").get("/runs", headers={"Host": "attacker.example"})
    assert rebinding.status == 303 and "tlsession" not in rebinding.headers.get("Set-Cookie", "")


def test_the_report_links_its_pdf_which_the_session_opens(browser):
    page = browser.get("/report/2").body.decode()
    assert '<a href="/rundb/api/v1/results/2/report/">Report summary as PDF</a>' in page
    pdf = browser.get("/rundb/api/v1/results/2/report/")
    assert pdf.status == 200 and pdf.body.startswith(b"%PDF")
