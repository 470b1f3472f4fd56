"""Resource-specific list parameters that are not field filters."""
from __future__ import annotations


def _total(reader, path, **params):
    response = reader.get(path, params=params)
    assert response.status == 200, response.body
    return response.json()["meta"]["total_count"]


def _plans(reader, **params):
    return reader.get("/rundb/api/v1/plannedexperiment/", params={"limit": 0, **params}).json()["objects"]


def test_plan_platform_keeps_that_platform_and_blank(reader):
    everything = _plans(reader)
    s5 = _plans(reader, platform="s5")
    assert s5 and len(s5) < len(everything)
    assert all(p["platform"].lower() in ("s5", "") for p in s5)
    assert {p["id"] for p in _plans(reader, instrument="S5")} == {p["id"] for p in s5}


def test_plan_name_or_id_matches_name_display_name_or_short_id(reader):
    plan = _plans(reader)[0]
    for needle in (plan["planName"][:6].upper(), plan["planShortID"].lower()):
        assert plan["id"] in {p["id"] for p in _plans(reader, name_or_id=needle)}
    assert _plans(reader, name_or_id="no-such-plan-anywhere") == []


def test_dnabarcode_distinct_gives_one_row_per_kit(reader):
    kits = reader.get("/rundb/api/v1/dnabarcode/", params={"distinct": "1", "limit": 0}).json()["objects"]
    names = [k["name"] for k in kits]
    assert len(names) == len(set(names)) > 1
    assert _total(reader, "/rundb/api/v1/dnabarcode/") > len(names)


def test_results_is_thumbnail(reader):
    total = _total(reader, "/rundb/api/v1/results/")
    assert _total(reader, "/rundb/api/v1/results/", isThumbnail="no") + \
        _total(reader, "/rundb/api/v1/results/", isThumbnail="yes") == total
