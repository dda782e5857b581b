"""Globus Search's query syntax, through a real globus-sdk SearchClient on the local service.

The advanced syntax is the Elasticsearch (Lucene) query string Globus Search documents
(https://docs.globus.org/api/search/query#advanced_query_string_syntax): AND/OR/NOT, ``+``/``-``,
parentheses, ``field:value`` on dotted paths into the content, phrases, ``[a TO b]`` /
``{a TO b}`` / ``>=`` ranges on numbers and dates, ``*`` / ``?`` wildcards, ``_exists_``.
Without ``advanced`` the same string is plain text. The cases are data
(``tests/data/search/query_cases.json``) over a fixed corpus (``query_corpus.json``); every
case names the exact set of subjects it returns.
"""

from __future__ import annotations

import json
import pathlib
import re
import uuid

import globus_sdk
import pytest

from gladier_jupyter.local._http import ServiceContext

DATA = pathlib.Path(__file__).resolve().parent.parent / "data" / "search"
CORPUS = json.loads((DATA / "query_corpus.json").read_text())
CASES = json.loads((DATA / "query_cases.json").read_text())
EVERY_SUBJECT = sorted({e["subject"] for e in CORPUS["ingest_data"]["gmeta"]})


@pytest.fixture(scope="module")
def corpus_index(local_service):
    from gladier_jupyter import backend

    backend.use_local(local_service.state_dir)
    client = backend.search_client()
    index_id = client.create_index(f"query-syntax-{uuid.uuid4()}", "query syntax corpus")["id"]
    client.ingest(index_id, CORPUS)
    yield index_id
    client.delete_index(index_id)


def _subjects(result) -> list[str]:
    return sorted(g["subject"] for g in result["gmeta"])


def _case_id(case) -> str:
    return ("adv " if case["advanced"] else "simple ") + case["q"]


@pytest.mark.parametrize("case", CASES["hits"], ids=_case_id)
def test_query_returns_exactly_the_documented_subjects(search_client, corpus_index, case):
    result = search_client.search(corpus_index, case["q"], advanced=case["advanced"], limit=100)
    assert _subjects(result) == sorted(case["subjects"])
    assert result["total"] == len(case["subjects"])


@pytest.mark.parametrize("case", CASES["hits"][:12], ids=_case_id)
def test_post_search_answers_like_get(search_client, corpus_index, case):
    body = {"q": case["q"], "advanced": case["advanced"], "limit": 100}
    assert _subjects(search_client.post_search(corpus_index, body)) == sorted(case["subjects"])


@pytest.mark.parametrize("case", CASES["refused"], ids=_case_id)
def test_bad_or_unsupported_advanced_query_is_a_one_line_400_gerror(
    search_client, corpus_index, case
):
    with pytest.raises(globus_sdk.SearchAPIError) as info:
        search_client.search(corpus_index, case["q"], advanced=True)
    error = info.value
    assert (error.http_status, error.code) == (400, case["code"])
    assert error.raw_json["@datatype"] == "GError"
    assert error.raw_json["status"] == 400
    assert "\n" not in error.message
    assert case["mentions"] in error.message


@pytest.mark.parametrize("case", CASES["refused"], ids=_case_id)
def test_the_same_string_without_advanced_is_plain_text_and_answers(
    search_client, corpus_index, case
):
    result = search_client.search(corpus_index, case["q"], advanced=False, limit=100)
    assert result["@datatype"] == "GSearchResult"
    assert set(_subjects(result)) <= set(EVERY_SUBJECT)


def test_query_filters_and_delete_by_query_use_the_same_syntax(search_client, local_service):
    index_id = search_client.create_index(f"dbq-{uuid.uuid4()}", "delete by query")["id"]
    try:
        search_client.ingest(index_id, CORPUS)
        result = search_client.post_search(
            index_id,
            {
                "q": "metadata.keywords:classic OR title:world",
                "advanced": True,
                "limit": 100,
                "filters": [
                    {"type": "range", "field_name": "metadata.year", "values": [{"from": 2001}]}
                ],
            },
        )
        assert _subjects(result) == ["doc/hello-world", "doc/world-hello"]
        search_client.delete_by_query(
            index_id, {"q": "metadata.year:[2000 TO 2010] AND NOT title:fox", "advanced": True}
        )
        left = _subjects(search_client.search(index_id, "*", limit=100))
        assert left == sorted(set(EVERY_SUBJECT) - {"doc/hello-world", "doc/world-hello"})
    finally:
        search_client.delete_index(index_id)


# ---- property: the service agrees with a small reference evaluator ----

_WORD = re.compile(r"[^\W_]+")
# words of the corpus, and two that are in no document
VOCABULARY = ["hello", "world", "fox", "dog", "classic", "animal", "xray", "the", "a", "ada",
              "map", "powder", "battery", "zebra", "quantum"]
FIELDS = ["title", "author.name", "metadata.keywords", "notes"]


def _leaves(value, path=""):
    if isinstance(value, dict):
        for key, item in value.items():
            yield from _leaves(item, f"{path}.{key}" if path else key)
    elif isinstance(value, list):
        for item in value:
            yield from _leaves(item, path)
    elif value is not None:
        yield path, value


def _words(value) -> set[str]:
    return {w.lower() for w in _WORD.findall(str(value))}


class _Doc:
    def __init__(self, content):
        self.leaves = list(_leaves(content))
        self.words = set().union(*(_words(v) for _p, v in self.leaves))

    def field_words(self, field):
        return set().union(set(), *(_words(v) for p, v in self.leaves if p == field))

    def numbers(self, field):
        return [v for p, v in self.leaves if p == field and isinstance(v, (int, float))]


def _query_strategy():
    from hypothesis import strategies as st

    word = st.sampled_from(VOCABULARY)
    leaf = st.one_of(
        word.map(lambda w: (w, lambda d, w=w: w in d.words)),
        st.tuples(st.sampled_from(FIELDS), word).map(
            lambda fw: (f"{fw[0]}:{fw[1]}", lambda d, f=fw[0], w=fw[1]: w in d.field_words(f))
        ),
        st.tuples(
            st.integers(1995, 2025), st.integers(0, 12), st.booleans(), st.booleans()
        ).map(_year_range),
    )

    def combine(children):
        binary = st.tuples(st.sampled_from(["AND", "OR"]), children, children).map(
            lambda t: (
                f"({t[1][0]} {t[0]} {t[2][0]})",
                (lambda d, a=t[1][1], b=t[2][1]: a(d) and b(d))
                if t[0] == "AND"
                else (lambda d, a=t[1][1], b=t[2][1]: a(d) or b(d)),
            )
        )
        negated = children.map(lambda c: (f"NOT {c[0]}", lambda d, a=c[1]: not a(d)))
        return st.one_of(binary, negated)

    return st.recursive(leaf, combine, max_leaves=8)


def _year_range(spec):
    low, width, include_low, include_high = spec
    high = low + width
    text = f"metadata.year:{'[' if include_low else '{'}{low} TO {high}{']' if include_high else '}'}"

    def ok(d):
        return any(
            (y >= low if include_low else y > low) and (y <= high if include_high else y < high)
            for y in d.numbers("metadata.year")
        )

    return text, ok


def test_generated_boolean_queries_return_what_a_reference_evaluator_returns(tmp_path):
    from hypothesis import HealthCheck, given, settings

    from gladier_jupyter.local.search import make_service

    docs = [(e["subject"], _Doc(e["content"])) for e in CORPUS["ingest_data"]["gmeta"]]
    service = make_service(ServiceContext(state_dir=tmp_path, secret="s"))
    index_id = service.create_index("reference", "queries")["id"]
    service.ingest(index_id, CORPUS)

    @settings(max_examples=300, deadline=None, suppress_health_check=list(HealthCheck))
    @given(query=_query_strategy())
    def check(query):
        text, predicate = query
        expected = sorted({s for s, d in docs if predicate(d)})
        result = service.query(index_id, text, advanced=True, limit=100)
        assert _subjects(result) == expected, text

    try:
        check()
    finally:
        service.close()


# ---- hostile queries: bounded, refused in one line, the service keeps answering ----


@pytest.mark.parametrize(
    ("q", "fragment"),
    [
        ("(" * 5000 + "hello" + ")" * 5000, "nests deeper than"),
        ("NOT " * 5000 + "hello", "nests deeper than"),
        (" OR ".join(["hello"] * 2000), "more than 1024 terms"),
        ("hello " * 100_000, "characters, more than"),  # 600 KB: under the 1 MiB body cap
    ],
    ids=["parentheses", "negations", "clauses", "length"],
)
def test_hostile_advanced_query_is_refused_quickly_and_the_service_still_answers(
    search_client, corpus_index, q, fragment
):
    with pytest.raises(globus_sdk.SearchAPIError) as info:
        search_client.post_search(corpus_index, {"q": q, "advanced": True})
    assert (info.value.http_status, info.value.code) == (400, "BadRequest.UnsupportedQuery")
    assert fragment in info.value.message and "\n" not in info.value.message
    assert len(info.value.message) < 400
    assert _subjects(search_client.search(corpus_index, "fox")) == ["doc/quick-fox"]


def test_the_largest_allowed_query_runs(search_client, corpus_index):
    # 1024 clauses, as deep as SQLite would refuse if they were chained
    q = " OR ".join(f"metadata.year:[{y} TO {y}]" for y in range(1000, 2024))
    result = search_client.post_search(corpus_index, {"q": q, "advanced": True, "limit": 100})
    assert _subjects(result) == [s for s in EVERY_SUBJECT if s != "doc/world-map"]


def test_field_queries_work_on_an_index_file_written_before_fields_were_stored(tmp_path):
    import sqlite3

    from gladier_jupyter.local.search import make_service

    ctx = ServiceContext(state_dir=tmp_path, secret="s")
    first = make_service(ctx)
    index_id = first.create_index("old", "an older file")["id"]
    first.ingest(index_id, CORPUS)
    first.close()
    # what an older version left: entries and their text index, no per-field rows
    (path,) = tmp_path.rglob("search*.sqlite3")
    db = sqlite3.connect(path)
    db.execute("DELETE FROM entry_fields")
    db.execute("PRAGMA user_version = 0")
    db.commit()
    db.close()
    second = make_service(ctx)
    try:
        result = second.query(index_id, "metadata.year:[2000 TO 2010]", advanced=True)
        assert _subjects(result) == ["doc/hello-world", "doc/quick-fox", "doc/world-hello"]
    finally:
        second.close()
