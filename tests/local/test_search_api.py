"""The local Search API through a real globus-sdk SearchClient."""

from __future__ import annotations

import copy
import json
import pathlib
import uuid

import globus_sdk
import pytest
from globus_sdk.testing import get_response_set

from gladier_jupyter.local._http import ServiceContext
from tests._fixtures.shapes import shape_problems

DATA = pathlib.Path(__file__).resolve().parent.parent / "data" / "search"
OTHER_USER = "urn:globus:auth:identity:11111111-1111-4111-8111-111111111111"


def _load(name: str):
    return json.loads((DATA / name).read_text())


@pytest.fixture(scope="module")
def sc(local_service):
    from gladier_jupyter import backend

    backend.use_local(local_service.state_dir)
    return backend.search_client()


@pytest.fixture(scope="module")
def me(sc):
    """The local user's identity URN, as the service reports it on ingest."""
    probe = sc.create_index(f"probe-{uuid.uuid4()}", "who am I")["id"]
    answer = sc.ingest(probe, _load("tutorial_document.json"))
    sc.delete_index(probe)
    return answer["as_identity"]


@pytest.fixture(scope="module")
def catalog(sc, me):
    index = sc.create_index("catalog", "samples of the beamlines")
    doc = json.loads(json.dumps(_load("catalog.json")).replace("urn:SELF", me))
    sc.ingest(index["id"], doc)
    return index["id"]


def _subjects(result):
    return [g["subject"] for g in result["gmeta"]]


# ---- the tutorial's cell and gather_metadata's document ----


def test_tutorial_cell_creates_index_through_beta_path_and_finds_it_in_index_list(
    local_service, monkeypatch
):
    # the cell builds its client from the environment, as on a hub
    monkeypatch.setenv("GLOBUS_SDK_SERVICE_URL_SEARCH", local_service.service_url("search"))
    search = globus_sdk.SearchClient(
        authorizer=globus_sdk.AccessTokenAuthorizer(local_service.secret)
    )
    # the tutorial's own name, made unique: other tests of the session use that index
    index_name = f"gladier-tutorial-{uuid.uuid4()}"

    def tutorial_indices():
        return [
            si
            for si in search.get("/v1/index_list").data["index_list"]
            if si["is_trial"] and si["display_name"] == index_name and "owner" in si["permissions"]
        ]

    assert tutorial_indices() == []
    index_doc = {
        "display_name": index_name,
        "description": "A trial index for running my search tutorial",
    }
    created = search.post("/beta/index", data=index_doc).data
    found = tutorial_indices()
    assert [i["id"] for i in found] == [created["id"]]
    assert found[0]["description"] == "A trial index for running my search tutorial"
    assert created["display_name"] == index_name


def test_ingested_tutorial_document_is_found_by_a_word_of_its_title(sc):
    index_id = sc.create_index("gladier-tutorial-docs", "tutorial")["id"]
    answer = sc.ingest(index_id, _load("tutorial_document.json"))
    assert answer["success"] is True
    assert answer["num_documents_ingested"] == 1
    assert answer["as_identity"].startswith("urn:globus:auth:identity:")
    task = sc.get_task(answer["task_id"])
    assert task["state"] == "SUCCESS"
    assert task["task_type"] == "INGEST"
    assert task["index_id"] == index_id
    for word in ("Experiment", "experiment", "file_4242.txt", "ALCF"):
        result = sc.search(index_id, word)
        assert _subjects(result) == ["https://example.com/my-gladier-experiment/file_4242.txt"]
    hit = sc.search(index_id, "Experiment")["gmeta"][0]["entries"][0]
    assert hit["content"]["dc"]["titles"] == [{"title": "My Experiment file_4242.txt"}]
    assert sc.search(index_id, "nonexistentword")["total"] == 0


# ---- queries ----


def test_plain_words_match_any_and_rank_subjects_once(sc, catalog):
    result = sc.search(catalog, "powder tomography")
    assert sorted(_subjects(result)) == ["sample/beta", "sample/delta", "sample/gamma"]
    assert result["total"] == 3
    assert len(set(_subjects(result))) == len(_subjects(result))


def test_plus_minus_phrase_and_prefix_terms(sc, catalog):
    assert sorted(_subjects(sc.search(catalog, "+tomography +battery"))) == ["sample/delta"]
    assert sorted(_subjects(sc.search(catalog, "tomography -battery"))) == ["sample/gamma"]
    assert _subjects(sc.search(catalog, '"powder diffraction"')) == ["sample/beta"]
    assert sorted(_subjects(sc.search(catalog, "diffr*"))) == ["sample/alpha", "sample/beta"]


def test_subject_result_carries_all_its_visible_entries(sc, catalog):
    result = sc.search(catalog, "tomopy")
    assert _subjects(result) == ["sample/alpha"]
    entry_ids = sorted(str(e["entry_id"]) for e in result["gmeta"][0]["entries"])
    assert entry_ids == ["None", "analysis"]


def test_visible_to_hides_entries_of_other_identities(sc, catalog):
    everything = _subjects(sc.search(catalog, "*", limit=100))
    assert "sample/private-mine" in everything
    assert "sample/delta" in everything  # all_authenticated_users: the local user is one
    assert "sample/private-other" not in everything
    assert _subjects(sc.search(catalog, "someone")) == []
    with pytest.raises(globus_sdk.SearchAPIError) as info:
        sc.get_subject(catalog, "sample/private-other")
    assert (info.value.http_status, info.value.code) == (404, "NotFound.Generic")
    assert sc.get_subject(catalog, "sample/private-mine")["subject"] == "sample/private-mine"


def test_paging_with_offset_and_limit(sc, catalog):
    first = sc.search(catalog, "*", limit=2)
    second = sc.search(catalog, "*", limit=2, offset=2)
    assert first["count"] == 2 and first["has_next_page"] is True
    assert first["total"] == second["total"] == 5
    assert not set(_subjects(first)) & set(_subjects(second))
    last = sc.search(catalog, "*", limit=2, offset=4)
    assert last["count"] == 1 and last["has_next_page"] is False


def test_scroll_pages_through_every_visible_subject_with_markers(sc, catalog):
    pages = list(sc.paginated.scroll(catalog, {"q": "*", "limit": 2}).pages())
    assert [p["count"] for p in pages] == [2, 2, 1]
    subjects = [s for p in pages for s in _subjects(p)]
    assert sorted(subjects) == sorted(_subjects(sc.search(catalog, "*", limit=100)))


def test_post_search_filters_sorts_and_facets(sc, catalog):
    result = sc.post_search(
        catalog,
        {
            "q": "*",
            "filters": [
                {"type": "match_any", "field_name": "tags", "values": ["xray", "tomography"]},
                {"type": "range", "field_name": "energy_kev", "values": [{"from": 10, "to": "*"}]},
            ],
            "sort": [{"field_name": "energy_kev", "order": "desc"}],
            "facets": [{"name": "Beamline", "field_name": "beamline", "type": "terms"}],
        },
    )
    assert _subjects(result) == ["sample/delta", "sample/beta", "sample/gamma"]
    buckets = {b["value"]: b["count"] for b in result["facet_results"][0]["buckets"]}
    assert buckets == {"2-BM": 2, "11-BM": 1}


def test_advanced_field_query(sc, catalog):
    result = sc.search(catalog, "beamline:8-ID", advanced=True)
    assert sorted(_subjects(result)) == ["sample/alpha", "sample/private-mine"]


def test_reingest_replaces_an_entry_and_deletes_remove_it(sc):
    index_id = sc.create_index("rewrites", "replace and delete")["id"]
    entry = {
        "ingest_type": "GMetaEntry",
        "ingest_data": {"subject": "s1", "visible_to": ["public"], "content": {"t": "oldword"}},
    }
    sc.ingest(index_id, entry)
    newer = copy.deepcopy(entry)
    newer["ingest_data"]["content"] = {"t": "newword"}
    sc.ingest(index_id, newer)
    assert sc.search(index_id, "oldword")["total"] == 0
    assert _subjects(sc.search(index_id, "newword")) == ["s1"]
    assert sc.get_index(index_id)["num_entries"] == 1
    task = sc.batch_delete_by_subject(index_id, ["s1"])
    assert sc.get_task(task["task_id"])["state"] == "SUCCESS"
    assert sc.search(index_id, "newword")["total"] == 0
    sc.ingest(index_id, entry)
    sc.delete_subject(index_id, "s1")
    assert sc.search(index_id, "*")["total"] == 0
    sc.ingest(index_id, entry)
    sc.delete_by_query(index_id, {"q": "oldword"})
    assert sc.search(index_id, "*")["total"] == 0
    assert [t["task_type"] for t in sc.get_task_list(index_id)["tasks"]][:2] == [
        "DELETE_BY_QUERY",
        "INGEST",
    ]


def test_entries_are_fetched_and_deleted_by_subject_and_entry_id(sc, me):
    index_id = sc.create_index("entries", "one subject, two entries")["id"]
    doc = json.loads(json.dumps(_load("catalog.json")).replace("urn:SELF", me))
    sc.ingest(index_id, doc)
    main = sc.get_entry(index_id, "sample/alpha")
    assert [e["entry_id"] for e in main["entries"]] == [None]
    assert main["entries"][0]["content"]["title"] == "Alpha crystal diffraction"
    analysis = sc.get_entry(index_id, "sample/alpha", entry_id="analysis")
    assert analysis["entries"][0]["content"]["software"] == "tomopy"
    sc.delete_entry(index_id, "sample/alpha", entry_id="analysis")
    assert [e["entry_id"] for e in sc.get_subject(index_id, "sample/alpha")["entries"]] == [None]
    with pytest.raises(globus_sdk.SearchAPIError) as info:
        sc.get_entry(index_id, "sample/alpha", entry_id="analysis")
    assert (info.value.http_status, info.value.code) == (404, "NotFound.Generic")


def test_in_process_api_ingests_and_queries_like_http(tmp_path):
    from gladier_jupyter.local.search import make_service

    service = make_service(ServiceContext(state_dir=tmp_path, secret="s"))
    try:
        index = service.create_index("in-process", "used by the flow engine")
        task_id = service.ingest(index["id"], _load("tutorial_document.json"))
        assert service.get_task(task_id)["state"] == "SUCCESS"
        assert service.query(index["id"], "Experiment")["total"] == 1
        assert service.query(index["id"], "Experiment", limit=0)["count"] == 0
    finally:
        service.close()


def test_new_index_has_the_local_user_as_owner_and_roles_can_be_added(sc, me):
    index_id = sc.create_index("roles", "who may write")["id"]
    roles = sc.get_role_list(index_id)["role_list"]
    assert [(r["role_name"], r["principal"]) for r in roles] == [("owner", me)]
    role = sc.create_role(index_id, {"role_name": "writer", "principal": OTHER_USER})
    assert role["principal_type"] == "identity"
    assert len(sc.get_role_list(index_id)["role_list"]) == 2
    sc.delete_role(index_id, role["id"])
    assert len(sc.get_role_list(index_id)["role_list"]) == 1
    with pytest.raises(globus_sdk.SearchAPIError) as info:
        sc.create_role(index_id, {"role_name": "reader", "principal": OTHER_USER})
    assert (info.value.http_status, info.value.code) == (400, "BadRequest.ValidationError")
    assert "'reader'" in info.value.message


# ---- errors ----


def test_unknown_index_is_a_404_search_error(sc):
    with pytest.raises(globus_sdk.SearchAPIError) as info:
        sc.search("6a0f4e10-0000-4000-8000-000000000000", "x")
    assert info.value.http_status == 404
    assert info.value.code == "NotFound.NoSuchIndex"
    assert info.value.raw_json["@datatype"] == "GError"


@pytest.mark.parametrize(
    ("document", "fragment"),
    [
        ({"ingest_type": "GMetaThing", "ingest_data": {}}, "'GMetaThing'"),
        (
            {"ingest_type": "GMetaEntry", "ingest_data": {"subject": "s", "content": {}}},
            "visible_to",
        ),
        (
            {"ingest_type": "GMetaList", "ingest_data": {"gmeta": [{"visible_to": ["public"]}]}},
            "ingest_data.gmeta[0].subject",
        ),
    ],
    ids=["bad-type", "no-visible_to", "no-subject"],
)
def test_malformed_ingest_is_a_400_naming_the_problem(sc, catalog, document, fragment):
    with pytest.raises(globus_sdk.SearchAPIError) as info:
        sc.ingest(catalog, document)
    assert (info.value.http_status, info.value.code) == (400, "BadRequest.ValidationError")
    assert fragment in info.value.message


def test_request_without_the_secret_gets_401(local_service, catalog):
    intruder = globus_sdk.SearchClient(
        base_url=local_service.service_url("search"),
        authorizer=globus_sdk.AccessTokenAuthorizer("wrong-secret"),
    )
    with pytest.raises(globus_sdk.SearchAPIError) as info:
        intruder.search(catalog, "*")
    assert info.value.http_status == 401


def test_deleted_index_leaves_the_list_refuses_ingest_and_can_be_reopened(sc):
    index_id = sc.create_index("short-lived", "deleted soon")["id"]
    assert sc.delete_index(index_id)["acknowledged"] is True
    assert index_id not in [i["id"] for i in sc.index_list()]
    assert sc.get_index(index_id)["status"] == "delete_pending"
    with pytest.raises(globus_sdk.SearchAPIError) as info:
        sc.ingest(index_id, _load("tutorial_document.json"))
    assert (info.value.http_status, info.value.code) == (409, "Conflict.IncompatibleIndexStatus")
    sc.reopen_index(index_id)
    assert sc.get_index(index_id)["status"] == "open"


def test_create_index_without_a_name_is_a_400(sc):
    with pytest.raises(globus_sdk.SearchAPIError) as info:
        sc.post("/v1/index", data={"description": "no name"})
    assert (info.value.http_status, info.value.code) == (400, "BadRequest.ValidationError")
    assert "display_name" in info.value.message


# ---- persistence ----


def test_documents_survive_a_restart(tmp_path):
    from gladier_jupyter.local.search import make_service

    ctx = ServiceContext(state_dir=tmp_path, secret="s")
    first = make_service(ctx)
    index = first.create_index("kept", "survives")
    first.ingest(index["id"], _load("catalog.json"))
    first.close()
    second = make_service(ctx)
    try:
        assert second.query(index["id"], "powder")["total"] == 1
        assert [i["id"] for i in second.index_list()] == [index["id"]]
    finally:
        second.close()


# ---- conformance with globus-sdk's recorded responses ----

def test_every_search_response_matches_the_recorded_globus_document(sc, catalog):
    index = sc.create_index("conformance", "shapes")
    index_id = index["id"]
    # the reference's entry content is {"foo": "bar"}: content is the user's own data
    sc.ingest(
        index_id,
        {
            "ingest_type": "GMetaEntry",
            "ingest_data": {
                "subject": "foo-bar",
                "visible_to": ["public"],
                "content": {"foo": "bar"},
            },
        },
    )
    deleted = sc.create_index("conformance-deleted", "shapes")["id"]
    answers = {
        "search.create_index:default": index,
        "search.index_list:default": sc.get("/v1/index_list"),
        "search.update_index:default": sc.update_index(index_id, display_name="renamed"),
        "search.search:default": sc.search(index_id, "bar"),
        "search.post_search:default": sc.post_search(index_id, {"q": "bar"}),
        "search.batch_delete_by_subject:default": sc.batch_delete_by_subject(index_id, ["x"]),
        "search.delete_index:default": sc.delete_index(deleted),
    }
    writer = {"role_name": "writer", "principal": OTHER_USER}
    role = sc.create_role(index_id, writer)
    answers["search.create_role:default"] = role
    answers["search.get_role_list:default"] = sc.get_role_list(index_id)
    answers["search.delete_role:default"] = sc.delete_role(index_id, role["id"])
    answers["search.reopen_index:default"] = sc.reopen_index(deleted)
    sc.delete_index(deleted)
    with pytest.raises(globus_sdk.SearchAPIError) as info:
        sc.delete_index(deleted)
    cases = _load("conformance.json")
    report = {}
    for case in cases:
        name, variant = case["response"].split(":")
        registered = get_response_set(name).lookup(variant)
        if registered.status >= 400:
            actual = info.value.raw_json
            assert info.value.http_status == registered.status
        else:
            actual = answers[case["response"]].data
        problems = shape_problems(actual, registered.json, filled=True)
        if problems:
            report[case["response"]] = problems
    assert report == {}
    assert {c["response"] for c in cases if "delete_pending" not in c["response"]} == set(answers)


def test_any_query_string_answers_a_result_or_a_400_never_a_server_error(tmp_path):
    from hypothesis import HealthCheck, example, given, settings
    from hypothesis import strategies as st

    from gladier_jupyter.local.search import make_service
    from gladier_jupyter.local.search.errors import SearchError

    service = make_service(ServiceContext(state_dir=tmp_path, secret="s"))
    index_id = service.create_index("fuzz", "queries")["id"]
    service.ingest(index_id, _load("catalog.json"))

    @settings(max_examples=300, deadline=None, suppress_health_check=list(HealthCheck))
    @given(q=st.text(alphabet=st.characters(codec="utf-8"), max_size=40), advanced=st.booleans())
    @example(q="'\n0", advanced=True)  # the parser quoted the newline it stopped at
    def check(q, advanced):
        try:
            result = service.query(index_id, q, advanced=advanced, limit=100)
        except SearchError as error:
            # only an advanced query can be malformed; it is refused in one line
            assert advanced and error.http_status == 400, (q, error.message)
            assert "\n" not in error.message
            return
        assert result["@datatype"] == "GSearchResult"
        assert result["count"] == len(result["gmeta"]) <= result["total"]

    try:
        check()
    finally:
        service.close()
