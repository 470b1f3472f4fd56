"""Input no 64-bit integer can hold: every place that turns request text into a number answers 4xx."""
from __future__ import annotations

import pytest

API = "/rundb/api/v1/"
HUGE = "99999999999999999999"


@pytest.mark.parametrize("params", [{"id": HUGE}, {"id__in": f"1,{HUGE}"}, {"experiment": HUGE},
                                    {"processedflows__gte": HUGE}, {"filters": f'[["id","=",{HUGE}]]'}])
def test_huge_filter_values_are_a_400(reader, params):
    response = reader.get(API + "results/", params=params)
    assert response.status == 400, response.body
    assert "error" in response.json()


def test_huge_offset_is_a_400_and_huge_limit_is_capped(reader):
    assert reader.get(API + "results/", params={"offset": HUGE}).status == 400
    assert reader.get(API + "results/", params={"limit": HUGE}).json()["meta"]["limit"] == 1000


def test_huge_keys_name_no_row(reader):
    assert reader.get(API + f"results/{HUGE}/").status == 404
    body = reader.get(API + f"results/set/1;{HUGE}/").json()
    assert [o["id"] for o in body["objects"]] == [1] and body["not_found"] == [HUGE]


def test_huge_keys_in_writes(client):
    assert client.patch(API + f"results/{HUGE}/", json_body={"status": "x"}).status in (404, 400)
    response = client.patch(API + "results/1/", json_body={"experiment": f"/rundb/api/v1/experiment/{HUGE}/"})
    assert response.status == 400 and "Could not find" in response.json()["error"]
