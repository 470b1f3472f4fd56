"""The trigram search indexes: substring filters answer exactly as the plain scan did, and every
write path (POST, PATCH, list PATCH, DELETE, cascades) keeps the indexes in step."""
from __future__ import annotations

import random

import pytest

from conftest import Client, _copy_data_dir, admin_headers, make_settings
from spec_rows import build_row
from torrentlite.app import build_app
from torrentlite.store import search
from torrentlite.store.load import insert_row

API = "/rundb/api/v1/"
PIECES = ["Auto", "auto", "AUTO", "run", "Run", "chip", "Größe", "GRÖSSE", "échantillon", "ÉCHO", "%", "_",
          "100%", "a_b", "x\\y", "K", "\u212a", "İst", "ist", "S5XL", "-", "01", "quote\"d", "it's"]
NEEDLES = ["auto", "AUTO", "Auto_", "run", "un_", "chip", "CHIP", "größe", "GRÖ", "échant", "ÉCH", "ech", "100%",
           "%", "_", "a_b", "a%b", "x\\y", "\u212a\u212a\u212a", "kkk", "ist", "İst", "S5XL", "s5xl", "quote\"d",
           "it's", "zzzz", "ru", "o_r", "Auto_run"]
LOOKUPS = ["contains", "icontains", "startswith", "istartswith", "endswith", "iendswith", "iexact"]


def _names(count: int) -> list[str]:
    rng = random.Random(13)
    names = [rng.choice(PIECES) + "".join(rng.choice(PIECES) for _ in range(rng.randint(1, 4)))
             for _ in range(count)]
    return names + ["kkk", "\u212a\u212a\u212a", "KKK", "100%_done", "a_b", "a%b"]


@pytest.fixture(scope="module")
def search_app(demo_template, tmp_path_factory):
    data_dir = _copy_data_dir(demo_template, tmp_path_factory.mktemp("search") / "data")
    app = build_app(make_settings(data_dir))
    experiments = [r[0] for r in app.store.db.execute_sql('SELECT id FROM "experiment" ORDER BY id')]
    with app.store.write():
        for i, name in enumerate(_names(150)):
            _, row = build_row(app.store, "results")
            row.update(resultsName=name, experiment=experiments[i % len(experiments)],
                       reportLink=f"/output/Home/s{i}/", projects=[])
            row.pop("eas", None)
            insert_row(app.store, "results", row)
    yield app
    app.close()


def _ids(client: Client, resource: str, **params) -> list[int]:
    response = client.get(f"{API}{resource}/", params={"limit": 0, "order_by": "id", **params})
    assert response.status == 200, response.body
    body = response.json()
    assert body["meta"]["total_count"] == len(body["objects"])
    return [o["id"] for o in body["objects"]]


@pytest.fixture(autouse=True, params=[search.INLINE_ROWS, 0], ids=["rows named", "index in the query"])
def always_narrow(monkeypatch, request):
    """On these small tables most needles are common; make the index answer whenever it can, both
    as the rows it found named in the query and as a subquery asking it."""
    monkeypatch.setattr(search, "SCAN_FRACTION", 2.0)
    monkeypatch.setattr(search, "INLINE_ROWS", request.param)


def _narrowed(sql: str) -> bool:
    """The condition asks the index (a subquery), or names the rows the index found."""
    return "MATCH" in sql or '"id" IN (' in sql


def _scan(monkeypatch):
    """Turn the index off, so the same request is answered by the plain scan."""
    monkeypatch.setattr(search, "narrowing", lambda *args, **kwargs: None)


def _index_ok(app) -> None:
    for table in search.SEARCHED:
        fts = search.index_name(table)
        # With rank 1 FTS5 also compares the index with the rows of its content table.
        app.store.db.execute_sql(f'INSERT INTO "{fts}"("{fts}", rank) VALUES (\'integrity-check\', 1)')


@pytest.mark.parametrize("lookup", LOOKUPS)
def test_tastypie_lookups_answer_as_the_scan(search_app, monkeypatch, lookup):
    client = Client(search_app, admin_headers(search_app))
    indexed = {n: _ids(client, "results", **{f"resultsName__{lookup}": n}) for n in NEEDLES}
    _scan(monkeypatch)
    scanned = {n: _ids(client, "results", **{f"resultsName__{lookup}": n}) for n in NEEDLES}
    assert indexed == scanned
    assert any(indexed.values())  # the needles do match something


@pytest.mark.parametrize("op", ["like", "ilike"])
def test_arvados_like_answers_as_the_scan(search_app, monkeypatch, op):
    client = Client(search_app, admin_headers(search_app))
    patterns = ["%auto%", "%AUTO%run%", "Auto%", "%\\%%", "%a\\_b%", "%größe%", "%ÉCHO", "%k_k%", "%kkk%",
                "_uto%", "%zzz%", "%it's%"]

    def ask():
        return {p: _ids(client, "results", filters=f'[["resultsName", "{op}", {_json(p)}]]') for p in patterns}

    indexed = ask()
    _scan(monkeypatch)
    assert indexed == ask()
    assert any(indexed.values())


def _json(text: str) -> str:
    import json

    return json.dumps(text)


def test_relation_filters_use_the_index_of_the_related_table(search_app, monkeypatch):
    client = Client(search_app, admin_headers(search_app))
    name = search_app.store.db.execute_sql('SELECT "expName" FROM "experiment" ORDER BY id LIMIT 1').fetchone()[0]
    needle = name[1:6]
    indexed = _ids(client, "results", experiment__expName__icontains=needle)
    _scan(monkeypatch)
    assert indexed == _ids(client, "results", experiment__expName__icontains=needle)
    assert indexed


def test_the_filter_asks_the_index(search_app):
    """The narrowing is really in the SQL (the equality tests above would pass without it)."""
    model = search_app.store.model("results")
    from torrentlite.api.query import Query

    query = Query(search_app.store)
    resource = search_app.store.registry["results"]
    cond = query.condition(resource, ["resultsName"], "icontains", "auto")
    sql, _ = model.select(model.id).where(cond).sql()
    if search.INLINE_ROWS:
        assert '"t1"."id" IN (?' in sql and "MATCH" not in sql
    else:
        assert 'MATCH' in sql and search.index_name("results") in sql
    short = query.condition(resource, ["resultsName"], "icontains", "au")
    assert not _narrowed(model.select(model.id).where(short).sql()[0])
    non_ascii = query.condition(resource, ["resultsName"], "icontains", "größe")
    assert not _narrowed(model.select(model.id).where(non_ascii).sql()[0])


def test_common_needles_scan_and_rare_ones_use_the_index(search_app, monkeypatch):
    monkeypatch.setattr(search, "SCAN_FRACTION", 0.15)
    model = search_app.store.model("results")
    from torrentlite.api.query import Query

    query = Query(search_app.store)
    resource = search_app.store.registry["results"]

    def uses_index(needle):
        cond = query.condition(resource, ["resultsName"], "icontains", needle)
        return _narrowed(model.select(model.id).where(cond).sql()[0])

    assert not uses_index("auto")  # in far more than 15 % of the names
    assert uses_index("100%_done")  # in one


def test_every_write_path_keeps_the_index_in_step(app, client):
    def found(needle):
        return _ids(client, "results", resultsName__icontains=needle)

    first = client.get(f"{API}results/?limit=1&order_by=id").json()["objects"][0]
    pk = first["id"]
    assert client.patch(f"{API}results/{pk}/", json_body={"resultsName": "Renamed_Zebra_report"}).status == 202
    assert found("zebra") == [pk]
    assert pk not in found(first["resultsName"])  # the old name left the index
    # A write that does not touch the name leaves the index alone and the name findable.
    assert client.patch(f"{API}results/{pk}/", json_body={"status": "Error"}).status == 202
    assert found("zebra") == [pk]
    # List PATCH: rename two reports in one transaction.
    others = _ids(client, "results")[1:3]
    body = {"objects": [{"resource_uri": f"{API}results/{o}/", "resultsName": f"Okapi_{o}"} for o in others]}
    assert client.patch(f"{API}results/", json_body=body).status == 202
    assert found("okapi") == sorted(others)
    # Project names through POST and DELETE.
    created = client.post(f"{API}project/", json_body={"name": "Quokka_project", "creator": f"{API}user/1/"})
    assert created.status == 201, created.body
    project_pk = _ids(client, "project", name__icontains="quokka")
    assert len(project_pk) == 1
    assert client.delete(f"{API}project/{project_pk[0]}/").status == 204
    assert _ids(client, "project", name__icontains="quokka") == []
    # A cascade: deleting an experiment deletes its reports, and they leave the index.
    exp_uri = client.get(f"{API}results/{pk}/").json()["experiment"]
    exp_pk = int(exp_uri.rstrip("/").rsplit("/", 1)[1])
    assert client.delete(f"{API}experiment/{exp_pk}/").status == 204
    assert found("zebra") == []
    _index_ok(app)


def test_a_database_of_the_first_release_gets_its_indexes_filled(app):
    """The migration that adds the indexes builds them from the rows already there."""
    db = app.store.db
    for table in search.SEARCHED:
        db.execute_sql(f'DROP TABLE "{search.index_name(table)}"')
    db.execute_sql('DELETE FROM "schema_version" WHERE version >= 3')
    assert app.store.migrate() == 2
    _index_ok(app)
    client = Client(app, admin_headers(app))
    names = [r[0] for r in db.execute_sql('SELECT "resultsName" FROM "results"')]
    assert _ids(client, "results", resultsName__icontains=names[0][:5].lower())
