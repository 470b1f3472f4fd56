"""List semantics on realistic data: paging, ordering, every lookup, errors, special URLs, wire format."""
from __future__ import annotations

import html
import json
import re
from datetime import datetime, timedelta, timezone
from urllib.parse import parse_qs, urlsplit

import pytest

from conftest import Client, _copy_data_dir, admin_headers, make_settings
from spec_rows import build_row
from torrentlite.app import build_app
from torrentlite.store.load import insert_row

API = "/rundb/api/v1/"
EXTRA = 60
BASE_TIME = datetime(2020, 3, 1, 8, 30, 15, tzinfo=timezone.utc)


def _name(i: int) -> str:
    # A mix of cases and a non-ASCII name, to check PostgreSQL-like case rules.
    if i % 3 == 0:
        return f"Auto_run{i:02d}_Chip"
    if i % 3 == 1:
        return f"auto_run{i:02d}_chip"
    return f"Größe_run{i:02d}_ÉCHO"


@pytest.fixture(scope="module")
def data_app(demo_template, tmp_path_factory):
    data_dir = _copy_data_dir(demo_template, tmp_path_factory.mktemp("lists") / "data")
    app = build_app(make_settings(data_dir))
    store = app.store
    experiments = [r[0] for r in store.db.execute_sql('SELECT id FROM "experiment" ORDER BY id')]
    with store.write():
        project = insert_row(store, "project", {"name": "semantics_project", "public": True,
                                                "creator": 1, "modified": BASE_TIME})
        for i in range(EXTRA):
            _, row = build_row(store, "results")
            row.update(resultsName=_name(i), timeStamp=BASE_TIME + timedelta(days=i, hours=i % 5),
                       status="Completed" if i % 4 else "Error", experiment=experiments[i % len(experiments)],
                       processedflows=100 * i, reportLink=f"/output/Home/r{i}/",
                       projects=[project] if i % 10 == 0 else [])
            row.pop("eas", None)
            insert_row(store, "results", row)
    yield app
    app.close()


@pytest.fixture(scope="module")
def api(data_app):
    return Client(data_app, admin_headers(data_app))


def total(api, resource, **params):
    response = api.get(f"{API}{resource}/", params=params)
    assert response.status == 200, response.body
    return response.json()["meta"]["total_count"]


def names(api, **params):
    response = api.get(f"{API}results/", params={"limit": 1000, **params})
    assert response.status == 200, response.body
    return [o["resultsName"] for o in response.json()["objects"]]


def error(response):
    assert response.status == 400, (response.status, response.body)
    return response.json()["error"]


ALL_RESULTS = 3 + EXTRA


# -- paging ---------------------------------------------------------------------------------------
def test_meta_and_default_limit(api):
    body = api.get(f"{API}results/").json()
    meta = body["meta"]
    assert set(meta) == {"limit", "next", "offset", "previous", "total_count"}
    assert meta["limit"] == 20 and meta["offset"] == 0 and meta["previous"] is None
    assert meta["total_count"] == ALL_RESULTS
    assert len(body["objects"]) == 20
    assert meta["next"] == f"{API}results/?offset=20&limit=20"


def test_links_keep_other_params(api):
    meta = api.get(f"{API}results/", params={"limit": 5, "offset": 10, "status": "Completed",
                                              "format": "json"}).json()["meta"]
    for link, offset in ((meta["next"], "15"), (meta["previous"], "5")):
        parts = urlsplit(link)
        assert parts.path == f"{API}results/"
        query = parse_qs(parts.query)
        assert query == {"offset": [offset], "limit": ["5"], "status": ["Completed"], "format": ["json"]}


def test_previous_null_when_offset_below_limit(api):
    meta = api.get(f"{API}results/", params={"limit": 20, "offset": 5}).json()["meta"]
    assert meta["previous"] is None


def test_last_page_has_no_next(api):
    meta = api.get(f"{API}results/", params={"limit": 10, "offset": ALL_RESULTS - 3}).json()["meta"]
    assert meta["next"] is None


def test_max_limit_and_limit_zero(api):
    for limit in ("0", "5000"):
        body = api.get(f"{API}results/", params={"limit": limit}).json()
        assert body["meta"]["limit"] == 1000
        assert len(body["objects"]) == ALL_RESULTS


def test_offset_past_end(api):
    body = api.get(f"{API}results/", params={"offset": 10000}).json()
    assert body["objects"] == [] and body["meta"]["total_count"] == ALL_RESULTS


@pytest.mark.parametrize("params,message", [
    ({"limit": "abc"}, "Invalid limit 'abc' provided. Please provide a positive integer."),
    ({"limit": "-1"}, "Invalid limit '-1' provided. Please provide a positive integer >= 0."),
    ({"offset": "x"}, "Invalid offset 'x' provided. Please provide an integer."),
    ({"offset": "-1"}, "Invalid offset '-1' provided. Please provide a positive integer >= 0."),
])
def test_bad_paging(api, params, message):
    response = api.get(f"{API}results/", params=params)
    # tastypie HTML-escapes <, > and & in error messages (§2.5): ">=" reads "&gt;=".
    assert error(response) == html.escape(message, quote=False)
    assert response.headers["Content-Type"] == "application/json"


# -- ordering -------------------------------------------------------------------------------------
def test_default_order_is_newest_pk_first(api):
    ids = [o["id"] for o in api.get(f"{API}results/", params={"limit": 1000}).json()["objects"]]
    assert ids == sorted(ids, reverse=True)


def test_order_by_field_and_descending(api):
    objs = api.get(f"{API}results/", params={"limit": 1000, "order_by": "timeStamp"}).json()["objects"]
    stamps = [o["timeStamp"] for o in objs]
    assert stamps == sorted(stamps)
    objs = api.get(f"{API}results/", params={"limit": 1000, "order_by": "-processedflows"}).json()["objects"]
    flows = [o["processedflows"] for o in objs]
    assert flows == sorted(flows, reverse=True)


def test_order_by_repeated(api):
    objs = api.get(f"{API}results/", params={"limit": 1000, "order_by": ["status", "-timeStamp"]}).json()["objects"]
    keys = [(o["status"], o["timeStamp"]) for o in objs]
    by_status = sorted(keys, key=lambda k: k[0])
    assert [k[0] for k in keys] == [k[0] for k in by_status]
    for status in {k[0] for k in keys}:
        stamps = [k[1] for k in keys if k[0] == status]
        assert stamps == sorted(stamps, reverse=True)


def test_order_by_traversal(api, data_app):
    objs = api.get(f"{API}results/", params={"limit": 1000, "order_by": "experiment__date"}).json()["objects"]
    dates = {}
    for o in api.get(f"{API}experiment/", params={"limit": 1000}).json()["objects"]:
        dates[o["resource_uri"]] = o["date"]
    seq = [dates[o["experiment"]] for o in objs]
    assert seq == sorted(seq)


@pytest.mark.parametrize("key,message", [
    ("nosuchfield", "No matching 'nosuchfield' field for ordering on."),
    ("filesystempath", "The 'filesystempath' field does not allow ordering."),
])
def test_order_by_errors(api, key, message):
    assert error(api.get(f"{API}results/", params={"order_by": key})) == message


def test_plugin_result_job_cannot_be_ordered(api):
    assert error(api.get(f"{API}PluginResultJob/", params={"order_by": "id"})) == \
        "The 'id' field does not allow ordering."
    assert "ordering" not in api.get(f"{API}PluginResultJob/schema/").json()


# -- lookups --------------------------------------------------------------------------------------
def test_case_sensitive_and_insensitive_text_lookups(api):
    lower = names(api, resultsName__contains="auto")
    assert lower and all("auto" in n for n in lower)
    assert not any(n.startswith("Auto_") for n in lower)
    both = names(api, resultsName__icontains="auto")
    assert any(n.startswith("Auto_") for n in both) and any(n.startswith("auto_") for n in both)
    assert set(names(api, resultsName__startswith="Auto_")) == {n for n in both if n.startswith("Auto_")}
    assert set(names(api, resultsName__istartswith="AUTO_RUN")) == {_name(i) for i in range(EXTRA) if i % 3 != 2}
    assert set(names(api, resultsName__endswith="_chip")) == {_name(i) for i in range(EXTRA) if i % 3 == 1}
    assert set(names(api, resultsName__iendswith="_CHIP")) == {_name(i) for i in range(EXTRA) if i % 3 != 2}
    assert names(api, resultsName__exact="auto_run01_chip") == ["auto_run01_chip"]
    assert names(api, resultsName="AUTO_RUN01_CHIP") == []
    assert names(api, resultsName__iexact="AUTO_RUN01_CHIP") == ["auto_run01_chip"]


def test_non_ascii_icontains(api):
    expected = {_name(i) for i in range(EXTRA) if i % 3 == 2}
    assert set(names(api, resultsName__icontains="größe")) == expected
    # Lowercasing, as PostgreSQL's ILIKE does, not Unicode case folding: "SS" does not match "ß".
    assert set(names(api, resultsName__icontains="GRÖSSE")) == set()
    assert set(names(api, resultsName__icontains="GRÖßE")) == expected
    assert set(names(api, resultsName__icontains="écho")) == expected
    assert set(names(api, resultsName__contains="écho")) == set()


def test_comparison_in_range_lookups(api):
    assert total(api, "results", processedflows__gt=5000) == len([i for i in range(EXTRA) if 100 * i > 5000])
    assert total(api, "results", processedflows__gte=5000, resultsName__contains="run") == \
        len([i for i in range(EXTRA) if 100 * i >= 5000])
    assert total(api, "results", processedflows__lt=300, resultsName__contains="run") == 3
    assert total(api, "results", processedflows__lte=300, resultsName__contains="run") == 4
    assert total(api, "results", processedflows__in="100,200", resultsName__contains="run") == 2
    assert total(api, "results", processedflows__range="100,500", resultsName__contains="run") == 5
    ids = [o["id"] for o in api.get(f"{API}results/", params={"limit": 3}).json()["objects"]]
    assert total(api, "results", id__in=f"{ids[0]},{ids[1]}") == 2
    response = api.get(f"{API}results/?id__in={ids[0]}&id__in={ids[2]}")
    assert response.json()["meta"]["total_count"] == 2


def test_date_part_lookups(api):
    run = {"resultsName__contains": "run"}
    march = [i for i in range(EXTRA) if (BASE_TIME + timedelta(days=i)).month == 3]
    assert total(api, "results", timeStamp__year=2020, **run) == EXTRA
    assert total(api, "results", timeStamp__month=3, **run) == len(march)
    assert total(api, "results", timeStamp__day=1, **run) == \
        len([i for i in range(EXTRA) if (BASE_TIME + timedelta(days=i)).day == 1])
    # week_day: 1 = Sunday … 7 = Saturday (Django)
    sundays = [i for i in range(EXTRA) if (BASE_TIME + timedelta(days=i)).isoweekday() == 7]
    assert total(api, "results", timeStamp__week_day=1, **run) == len(sundays)
    assert total(api, "results", timeStamp__hour=8, **run) == len([i for i in range(EXTRA) if i % 5 == 0])
    assert total(api, "results", timeStamp__minute=30, **run) == EXTRA
    assert total(api, "results", timeStamp__second=15, **run) == EXTRA
    assert total(api, "results", timeStamp__gte="2020-04-01", **run) == \
        len([i for i in range(EXTRA) if BASE_TIME + timedelta(days=i, hours=i % 5) >= datetime(2020, 4, 1,
                                                                                                  tzinfo=timezone.utc)])


def test_isnull_none_and_regex(api):
    assert total(api, "results", eas__isnull="true") >= EXTRA
    assert total(api, "results", eas__isnull="false") == 3
    assert total(api, "results", eas="None") == total(api, "results", eas__isnull="true")
    assert set(names(api, resultsName__regex=r"^auto_run0[0-9]")) == \
        {_name(i) for i in range(10) if i % 3 == 1}
    assert set(names(api, resultsName__iregex=r"^auto_run0[0-9]")) == \
        {_name(i) for i in range(10) if i % 3 != 2}


def test_traversal_m2m_and_reverse(api, data_app):
    exp = api.get(f"{API}experiment/", params={"limit": 1}).json()["objects"][0]
    prefix = exp["expName"][:6]
    expected = sum(1 for o in api.get(f"{API}results/", params={"limit": 1000}).json()["objects"]
                   if o["experiment"] in {e["resource_uri"] for e in api.get(
                       f"{API}experiment/", params={"limit": 1000, "expName__startswith": prefix}).json()["objects"]})
    assert total(api, "results", experiment__expName__startswith=prefix) == expected
    assert total(api, "results", projects__name="semantics_project") == EXTRA // 10
    # reverse: experiments that have a result with that name
    assert total(api, "experiment", results__resultsName="auto_run01_chip") == 1
    exp_id = int(exp["resource_uri"].rstrip("/").split("/")[-1])
    assert total(api, "results", experiment=exp_id) == len(exp["results"])


@pytest.mark.parametrize("path,params,message", [
    ("results", {"filesystempath": "x"}, "The 'filesystempath' field does not allow filtering."),
    ("activesequencingkitinfo", {"kitType": "SequencingKit"},
     "'exact' is not an allowed filter on the 'kitType' field."),
    ("activesequencingkitinfo", {"name": "x"}, "The 'name' field does not allow filtering."),
    ("ionchefplantemplate", {"planName": "x"}, "The 'planName' field does not allow filtering."),
    ("results", {"resultsName__name": "x"}, "The 'resultsName' field does not support relations."),
    ("results", {"experiment": "/rundb/api/v1/experiment/1/"},
     "Invalid resource lookup data provided (mismatched type)."),
    ("results", {"id": "abc"}, "Invalid resource lookup data provided (mismatched type)."),
])
def test_filter_errors(api, path, params, message):
    assert error(api.get(f"{API}{path}/", params=params)) == message


def test_unknown_params_are_ignored(api):
    assert total(api, "results", bogus="1", another__icontains="x") == ALL_RESULTS


# -- set, detail, methods, redirects, JSONP -----------------------------------------------------
def test_set_endpoint(api):
    ids = [o["id"] for o in api.get(f"{API}results/", params={"limit": 2}).json()["objects"]]
    body = api.get(f"{API}results/set/{ids[0]};{ids[1]};999999/").json()
    assert [o["id"] for o in body["objects"]] == ids
    assert body["not_found"] == ["999999"]
    assert "meta" not in body
    assert "pluginState" not in body["objects"][0]
    full = api.get(f"{API}results/set/{ids[0]}/").json()
    assert "not_found" not in full
    bad = api.get(f"{API}results/set/{ids[0]};abc/")
    assert bad.status == 404
    assert bad.json() == {"error_message": "Sorry, this request could not be processed. Please try again later."}


def test_missing_and_non_numeric_pk(api):
    missing = api.get(f"{API}results/999999/")
    assert missing.status == 404 and missing.body == b""
    bad = api.get(f"{API}results/abc/")
    assert bad.status == 404
    assert bad.json() == {"error_message": "Sorry, this request could not be processed. Please try again later."}


def test_methods(api, data_app):
    registry = data_app.store.registry
    limited = next(r for r in registry.resources.values() if r.table and "post" not in r.list_methods)
    response = api.post(f"{API}{limited.name}/", json_body={})
    assert response.status == 405
    assert response.headers["Allow"] == ",".join(m.upper() for m in limited.list_methods)
    options = api.request("OPTIONS", f"{API}results/")
    assert options.status == 200 and options.headers["Allow"] == "GET,POST,PUT,DELETE,PATCH"
    assert options.body == b"GET,POST,PUT,DELETE,PATCH"
    assert api.request("HEAD", f"{API}results/").status == 405


def test_missing_slash_redirects(api):
    response = api.get(f"{API}results", params={"limit": 2})
    assert response.status == 301
    assert response.headers["Location"] == f"{API}results/?limit=2"
    assert api.post(f"{API}results").status == 301


def test_jsonp(api):
    response = api.get(f"{API}results/", params={"limit": 1, "callback": "cb"})
    assert response.status == 200 and response.headers["Content-Type"] == "text/javascript"
    text = response.body.decode()
    assert text.startswith("cb(") and text.endswith(")")
    assert json.loads(text[3:-1])["meta"]["limit"] == 1
    response = api.get(f"{API}results/", params={"limit": 1, "format": "jsonp"})
    assert response.body.startswith(b"callback(")


# -- wire format ----------------------------------------------------------------------------------
def _sorted_everywhere(value) -> bool:
    if isinstance(value, dict):
        return list(value) == sorted(value) and all(_sorted_everywhere(v) for v in value.values())
    if isinstance(value, list):
        return all(_sorted_everywhere(v) for v in value)
    return True


def test_keys_sorted_at_every_level(api):
    for resource in ("results", "experiment", "plannedexperiment", "kitinfo"):
        text = api.get(f"{API}{resource}/", params={"limit": 5}).body.decode()
        assert _sorted_everywhere(json.loads(text, object_pairs_hook=dict)), resource


DATETIME = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{6})?\+00:00$")


def test_datetimes_bigints_json_and_floats(api):
    result = api.get(f"{API}results/", params={"limit": 1, "order_by": "id"}).json()["objects"][0]
    assert DATETIME.match(result["timeStamp"])
    assert isinstance(result["metaData"], dict)
    quality = api.get(f"{API}qualitymetrics/", params={"limit": 1}).json()["objects"][0]
    assert isinstance(quality["q0_bases"], str) and quality["q0_bases"].isdigit()
    for obj in api.get(f"{API}results/", params={"limit": 1000}).json()["objects"]:
        assert obj["metaData"] is not None
    text = api.get(f"{API}libmetrics/", params={"limit": 100}).body.decode()
    assert not re.search(r":\s-?\d+\.0[,}]", text), "integral floats must not end in .0"


def test_float_formatting_on_the_wire(data_app, api):
    store = data_app.store
    with store.write():
        store.db.execute_sql('UPDATE "libmetrics" SET "raw_accuracy" = 361.0 WHERE id = 1')
    text = api.get(f"{API}libmetrics/1/").body.decode()
    assert re.search(r'"raw_accuracy":\s?361[,}]', text)


@pytest.mark.parametrize("key", ["experiment__date", "-experiment__date", "experiment__resultDate",
                                 "-experiment__resultDate"])
def test_ordering_through_a_relation_read_in_index_order_matches_the_sort(data_app, api, monkeypatch, key):
    """Reports without an experiment or with no value there sort as PostgreSQL puts NULLs, across pages."""
    from torrentlite.api import page_cache
    from torrentlite.api.resource import ReadHandler

    monkeypatch.setattr(page_cache, "CACHED", frozenset())
    store = data_app.store
    with store.write():
        ids = [r[0] for r in store.db.execute_sql('SELECT id FROM "results" ORDER BY id DESC LIMIT 9')]
        exps = [r[0] for r in store.db.execute_sql('SELECT id FROM "experiment" ORDER BY id LIMIT 2')]
        store.db.execute_sql(f'UPDATE "results" SET experiment_id = NULL WHERE id IN ({ids[0]}, {ids[3]})')
        store.db.execute_sql('UPDATE "experiment" SET "resultDate" = NULL WHERE id = ?', (exps[0],))

    def pages(**extra):
        seen = []
        for offset in range(0, 80, 7):
            body = api.get(f"{API}results/", params={"order_by": key, "limit": 7, "offset": offset, **extra}).json()
            seen += [o["id"] for o in body["objects"]]
        return seen

    used = []
    real = ReadHandler._page_through_relation

    def spy(*args, **kwargs):
        rows = real(*args, **kwargs)
        used.append(rows is not None)
        return rows

    try:
        monkeypatch.setattr(ReadHandler, "_page_through_relation", spy)
        fast = pages(), pages(status="Completed")
        assert used and all(used)
        monkeypatch.setattr(ReadHandler, "_page_through_relation", lambda *a, **k: None)
        assert (pages(), pages(status="Completed")) == fast
        assert len(set(fast[0])) == len(fast[0]) > 60
    finally:
        with store.write():
            store.db.execute_sql(f'UPDATE "results" SET experiment_id = ? WHERE id IN ({ids[0]}, {ids[3]})',
                                 (exps[1],))
            store.db.execute_sql("UPDATE \"experiment\" SET \"resultDate\" = '2020-01-01 00:00:00.000000' "
                                 "WHERE id = ?", (exps[0],))
