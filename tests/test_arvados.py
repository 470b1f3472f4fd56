"""Arvados-style list parameters: filters, order, select, count."""
from __future__ import annotations

import json

import pytest

from torrentlite.api.arvados import like_to_glob

API = "/rundb/api/v1/"


def names(reader, resource="kitinfo", **params):
    params = {k: json.dumps(v) if not isinstance(v, str) else v for k, v in params.items()}
    r = reader.get(API + f"{resource}/", params={"limit": 0, **params})
    assert r.status == 200, r.body
    return r.json()


def test_like_to_glob():
    assert like_to_glob("Ion%Kit_") == "Ion*Kit?"
    assert like_to_glob(r"100\%*") == "100%[*]"
    assert like_to_glob("a[b?") == "a[[]b[?]"


@pytest.mark.parametrize("op", ["=", "!=", "<", "<=", ">", ">=", "like", "ilike", "in", "not in"])
def test_every_operator_matches_python(reader, op):
    everything = names(reader)["objects"]
    sample = sorted(o["name"] for o in everything)[len(everything) // 2]
    operand = {"in": [sample, "nothing"], "not in": [sample], "like": sample[:3] + "%",
               "ilike": sample[:3].lower() + "%"}.get(op, sample)
    got = {o["name"] for o in names(reader, filters=[["name", op, operand]])["objects"]}
    check = {"=": lambda n: n == sample, "!=": lambda n: n != sample, "<": lambda n: n < sample,
             "<=": lambda n: n <= sample, ">": lambda n: n > sample, ">=": lambda n: n >= sample,
             "like": lambda n: n.startswith(sample[:3]), "ilike": lambda n: n.lower().startswith(sample[:3].lower()),
             "in": lambda n: n == sample, "not in": lambda n: n != sample}[op]
    assert got == {o["name"] for o in everything if check(o["name"])}


def test_like_is_case_sensitive_and_ilike_is_not(reader):
    everything = names(reader)["objects"]
    name = next(o["name"] for o in everything if any(c.isupper() for c in o["name"]))
    assert names(reader, filters=[["name", "like", name.lower()]])["meta"]["total_count"] == \
        sum(1 for o in everything if o["name"] == name.lower())
    assert names(reader, filters=[["name", "ilike", name.lower()]])["meta"]["total_count"] >= 1


def test_null_operands(reader):
    everything = names(reader, "experiment")["objects"]
    nulls = {o["id"] for o in everything if o["plan"] is None}
    got = {o["id"] for o in names(reader, "experiment", filters=[["plan", "=", None]])["objects"]}
    assert got == nulls
    got = {o["id"] for o in names(reader, "experiment", filters=[["plan", "!=", None]])["objects"]}
    assert got == {o["id"] for o in everything} - nulls


def test_filters_combine_with_tastypie_filters_and_relations_take_uris(reader):
    exp = names(reader, "experiment")["objects"][0]
    plan = exp["plan"]
    got = names(reader, "experiment", filters=[["plan", "in", [plan]]], status=exp["status"])
    assert [o["id"] for o in got["objects"]] == [exp["id"]]


def test_order_select_and_count(reader):
    body = names(reader, order=["name desc"], select=["name", "kitType"], count="none")
    objs = body["objects"]
    assert [o["name"] for o in objs] == sorted((o["name"] for o in objs), reverse=True)
    assert all(set(o) == {"name", "kitType", "resource_uri"} for o in objs)
    assert "total_count" not in body["meta"]
    asc = names(reader, order="name asc")["objects"]
    assert [o["name"] for o in asc] == sorted(o["name"] for o in asc)


@pytest.mark.parametrize("params, message", [
    ({"filters": "[[\"name\", \"~\", \"x\"]]"}, "Unknown filter operator"),
    ({"filters": "[[\"name\", \"=\"]]"}, "[attribute, operator, operand]"),
    ({"filters": "not json"}, "must be a JSON array"),
    ({"filters": "[[\"nosuchfield\", \"=\", 1]]"}, "does not allow filtering"),
    ({"filters": "[[\"name\", \"in\", \"x\"]]"}, "needs an array"),
    ({"filters": "[[\"flowCount\", \"like\", \"1%\"]]"}, "need a text attribute"),
    ({"filters": "[[\"name\", \"<\", null]]"}, "cannot compare with null"),
    ({"order": "[\"name sideways\"]"}, "Invalid order term"),
    ({"order": "[\"name\"]", "order_by": "name"}, "not both"),
    ({"order": "[\"nosuch asc\"]"}, "No matching 'nosuch' field"),
    ({"select": "[\"nosuch\"]"}, "unknown attribute"),
    ({"count": "maybe"}, "Invalid count"),
])
def test_bad_values_are_400_with_a_message(reader, params, message):
    r = reader.get(API + "kitinfo/", params=params)
    assert r.status == 400, r.body
    assert message in r.json()["error"]


def test_filters_select_rows_for_list_delete(client, app):
    before = client.get(API + "project/").json()["meta"]["total_count"]
    created = client.post(API + "project/", json_body={"name": "zz-drop", "creator": API + "user/1/"})
    assert created.status == 201, created.body
    assert client.get(API + "project/").json()["meta"]["total_count"] == before + 1
    r = client.delete(API + "project/", params={"filters": json.dumps([["name", "like", "zz-%"]])})
    assert r.status == 204
    assert client.get(API + "project/").json()["meta"]["total_count"] == before
