"""Attacks on the Jupyter server extension and on what it decodes, performed for real.

A page (a notebook someone else wrote, rendered by the flow mime renderer; a file opened
with "Open With → Flow graph") can send any text to ``POST flowdef``; a hub (or whoever
set the environment) hands the server ``GLOBUS_DATA``; a flow's state names end up in the
mermaid export GitHub and JupyterLab draw. Each test sends the hostile input through the
real route or function and checks that it does no harm:

- a YAML alias bomb is refused in one line, quickly, and the server answers other requests
  meanwhile (before: a 386-byte bomb held the server 35.7 s and answered 351 MB);
- a file path sent as text is never opened (before: ``~/.gladier-jupyter/tokens.json``
  came back in the answer);
- a read-only authorizer keeps a run from being cancelled or resumed (before: cancelled);
- a GLOBUS_DATA pickle sharing its parts is refused in bounded time and memory (before:
  324 characters took 105 s (under tracemalloc) and 345 MB before a token was used);
- state names cannot become HTML or break out of their mermaid label.
"""

from __future__ import annotations

import base64
import json
import os
import pathlib
import pickle
import re
import secrets
import threading
import time
import tracemalloc
import urllib.error
import urllib.request

import pytest

from tests._fixtures.browser import _jupyter_server
from tests._fixtures.data import load_json
from tests._fixtures.runs import wait_for_run

API = "gladier-jupyter/api"
WAIT_FLOW = load_json("labext/long_wait_flow.json")  # a run that waits 600 s


def _request(server, path: str, method: str = "GET", body: object = None,
             raw: bytes | None = None, timeout: float = 60) -> tuple[int, bytes]:
    data = raw if raw is not None else (None if body is None else json.dumps(body).encode())
    req = urllib.request.Request(f"{server.url}/{path}", data=data, method=method, headers={
        "Authorization": f"token {server.token}", "Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(req, timeout=timeout) as resp:
            return resp.status, resp.read()
    except urllib.error.HTTPError as err:
        return err.code, err.read()


def _message(answer: bytes) -> str:
    return json.loads(answer)["message"]


def alias_bomb(levels: int = 9) -> str:
    """Billion laughs: 9 ** levels strings from a few hundred bytes of YAML."""
    lines = ['a0: &a0 ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    lines += [f"a{i}: &a{i} [" + ",".join([f"*a{i - 1}"] * 9) + "]" for i in range(1, levels)]
    return "\n".join(lines) + "\n"


# --------------------------------------------------------------------------- flowdef bombs


@pytest.mark.timeout(120)
@pytest.mark.parametrize("body", [
    {"text": alias_bomb(), "path": "bomb.yaml"},           # Open With → Flow graph
    {"definition": alias_bomb(), "name": "bomb"},          # the mime renderer, as a string
    {"text": "StartAt: A\nStates: &s\n  A: {Type: Pass, End: true}\nCopy: *s\n"},
], ids=["open-with-yaml", "mime-definition-string", "anchor"])
def test_a_yaml_alias_bomb_is_refused_in_one_line_while_the_server_keeps_answering(lab, body):
    answered: dict[str, object] = {}

    def send() -> None:
        answered["flowdef"] = _request(lab, f"{API}/flowdef", "POST", body)

    bomb = threading.Thread(target=send)
    bomb.start()
    # Meanwhile, the server answers an ordinary request (the old code held it for 35 s).
    status, _ = _request(lab, "api/status", timeout=10)
    bomb.join(timeout=30)
    assert status == 200
    assert not bomb.is_alive(), "the bomb request never finished"
    status, answer = answered["flowdef"]
    assert status == 400, answer[:300]
    assert len(answer) < 2000  # not the 351 MB the aliases stand for
    message = _message(answer)
    assert "\n" not in message and message
    assert "alias" in message or "anchor" in message or "not JSON" in message, message


@pytest.mark.timeout(60)
def test_an_alias_bomb_in_a_definition_cell_or_a_python_string_is_refused():
    from gladier_jupyter.errors import GladierJupyterUsageError
    from gladier_jupyter.flowgraph import FlowGraph
    from gladier_jupyter.inline import parse_definition

    with pytest.raises(GladierJupyterUsageError) as err:
        parse_definition("Bomb", alias_bomb())
    assert "The flow definition of tool 'Bomb' uses a YAML anchor (&a0)" in str(err.value)
    with pytest.raises(GladierJupyterUsageError) as err:
        FlowGraph.build(alias_bomb())
    assert "uses a YAML anchor" in str(err.value) and "\n" not in str(err.value)


@pytest.mark.timeout(120)
@pytest.mark.parametrize(("payload", "expect", "words"), [
    ({"text": "[" * 100_000 + "]" * 100_000}, 400, "deeper than 64 levels"),
    ({"text": "a:\n" + "".join("  " * i + "- \n" for i in range(1, 200))}, 400,
     "deeper than 64 levels"),
    ({"text": " " * 1_100_000 + "{}"}, 400, "over the 1.0 MB"),
    ({"definition": {"StartAt": "A", "States": {"A": {"Type": "Pass", "End": True,
                                                      "Parameters": {"x": [1] * 250_000}}}}},
     400, "more than 200,000 values"),
    ({"definition": {"StartAt": "s0", "States": {
        f"s{i}": {"Type": "Pass", "Next": f"gone{i}"} for i in range(15_000)}}},
     400, "over the 16 MB this route sends"),
    ({"definition": ["not", "an", "object"]}, 400, "is a list"),
    ({"text": 7}, 400, "Send the file's text"),
], ids=["deep-json", "deep-yaml", "long-text", "many-values", "huge-answer", "list-definition",
        "number"])
def test_hostile_definitions_are_refused_in_one_line(lab, payload, expect, words):
    status, answer = _request(lab, f"{API}/flowdef", "POST", payload)
    assert status == expect, answer[:300]
    message = _message(answer)
    assert words in message and "\n" not in message, message


def test_a_body_larger_than_the_route_reads_is_refused_before_parsing(lab):
    raw = json.dumps({"text": "x" * 9_000_000}).encode()
    status, answer = _request(lab, f"{API}/flowdef", "POST", raw=raw)
    assert status == 413
    assert "9.0 MB" in _message(answer) and "open the right file" in _message(answer)


@pytest.mark.timeout(240)
def test_definition_checks_run_off_the_event_loop(lab):
    # A big legitimate flow keeps a check busy for seconds (each distinct JSONPath is parsed
    # and checked); the event loop answers another request while the check still runs. The
    # old code checked on the event loop: /api/status waited for the check to end.
    states = {f"S{i}": {"Type": "Pass", "Next": f"S{i + 1}",
                        "Parameters": {"v.$": f"$.input.k{secrets.token_hex(3)}_{i}"}}
              for i in range(4000)}
    states["S4000"] = {"Type": "Pass", "End": True}
    flow = {"StartAt": "S0", "States": states}
    answered: dict[str, float] = {}

    def check() -> None:
        req = urllib.request.Request(
            f"{lab.url}/{API}/flowdef", data=json.dumps({"definition": flow}).encode(),
            method="POST", headers={"Authorization": f"token {lab.token}"})
        with urllib.request.urlopen(req, timeout=200) as resp:
            answered["check"] = time.monotonic()  # the answer's headers are in
            answered["status"] = resp.status
            resp.read()

    checking = threading.Thread(target=check)
    checking.start()
    # the check's request reaches the server (nothing in the server marks that moment)
    time.sleep(0.5)
    status, _ = _request(lab, "api/status", timeout=100)
    status_at = time.monotonic()
    checking.join(timeout=200)
    assert status == 200 and answered["status"] == 200
    assert status_at < answered["check"], (
        "/api/status was answered only after the definition check ended")


def test_a_page_flooding_the_route_gets_503_once_the_check_pool_is_full():
    import asyncio

    from gladier_jupyter.server.handlers import _FlowCheckPool

    pool = _FlowCheckPool(workers=1, max_jobs=3)
    release = threading.Event()

    async def flood() -> list[object]:
        entered = [pool.try_enter() for _ in range(5)]
        jobs = [asyncio.ensure_future(pool.run(release.wait, 30)) for _ in range(3)]
        await asyncio.sleep(0)
        refused_while_full = pool.try_enter()
        release.set()
        await asyncio.gather(*jobs)
        return [entered, refused_while_full, pool.try_enter()]

    entered, refused_while_full, after = asyncio.run(flood())
    assert entered == [True, True, True, False, False]
    assert refused_while_full is False
    assert after is True  # the jobs that ended made room again


# --------------------------------------------------------------------------- paths


@pytest.fixture
def canary_files() -> tuple[str, list[pathlib.Path]]:
    """Files in the server's HOME that hold a secret; removed afterwards."""
    secret = f"CANARY-{secrets.token_hex(8)}"
    home = pathlib.Path(os.environ["HOME"])
    doc = {"StartAt": "A", "States": {"A": {"Type": "Pass", "End": True}}, "Comment": secret}
    paths = [home / f"gj-canary-{secrets.token_hex(4)}.json",
             home / f"gj-canary-{secrets.token_hex(4)}.yaml"]
    for path in paths:
        path.write_text(json.dumps(doc))
    yield secret, paths
    for path in paths:
        path.unlink(missing_ok=True)


def test_a_file_path_sent_as_text_is_never_opened(lab, canary_files):
    secret, paths = canary_files
    sent = []
    for path in paths:
        sent += [{"text": str(path)}, {"text": f"~/{path.name}"}, {"definition": str(path)},
                 {"definition": f"~/{path.name}"}, {"text": str(path), "path": str(path)}]
    for body in sent:
        status, answer = _request(lab, f"{API}/flowdef", "POST", body)
        assert secret.encode() not in answer, body
        assert status in (200, 400), (body, status)
        doc = json.loads(answer)
        assert doc["graph"] == {} and doc["message"], (body, doc)


# --------------------------------------------------------------------------- authorization


@pytest.fixture(scope="module")
def readonly_lab():
    """A second Jupyter server, whose authorizer allows only ``read``."""
    with _jupyter_server("jupyterlab", "lab", [
            "--ServerApp.authorizer_class=tests.reliability._authorizers.ReadOnlyAuthorizer"],
            "JupyterLab (read-only authorizer)") as server:
        yield server


@pytest.mark.timeout(180)
def test_a_read_only_user_can_watch_a_run_but_not_cancel_or_resume_it(
        readonly_lab, run_definition, flows_client):
    started = run_definition(WAIT_FLOW, wait=False, label="read-only cancel")
    try:
        status, answer = _request(readonly_lab, f"{API}/runs/{started['run_id']}")
        assert status == 200, answer[:300]
        assert json.loads(answer)["status"] == "ACTIVE"
        status, _ = _request(readonly_lab, f"{API}/runs")
        assert status == 200
        status, _ = _request(readonly_lab, f"{API}/flowdef", "POST",
                             {"definition": WAIT_FLOW})
        assert status == 200  # a check reads nothing and changes nothing
        for verb in ("cancel", "resume"):
            status, answer = _request(
                readonly_lab, f"{API}/runs/{started['run_id']}/{verb}", "POST", {})
            assert status == 403, (verb, status, answer[:300])
            message = _message(answer)
            assert f"does not let you {verb} runs" in message and "\n" not in message
        # The old code cancelled it here; the run is still waiting.
        assert flows_client.get_run(started["run_id"])["status"] == "ACTIVE"
    finally:
        flows_client.cancel_run(started["run_id"])
        wait_for_run(flows_client, started["run_id"], timeout=60)


# --------------------------------------------------------------------------- GLOBUS_DATA

ACCESS = "AgSECRETACCESSTOKEN" + "x" * 40


def _shared(levels: int, width: int, leaf: object) -> object:
    value = leaf
    for _ in range(levels):
        value = [value] * width  # one list, referenced `width` times: pickle memoizes it
    return value


def _cycle() -> list:
    loop: list = ["scope"]
    loop.append(loop)
    return loop


def _deep() -> list:
    value: list = []
    for _ in range(200):
        value = [value]
    return value


@pytest.mark.timeout(60)
@pytest.mark.parametrize(("scope", "words"), [
    (_shared(25, 2, "openid"), "values once its shared parts"),
    (_shared(8, 16, "openid"), "values once its shared parts"),
    ([["s" * 100_000] * 100] * 10, "MB of text once its shared parts"),
    (_cycle(), "deeper than 32 levels"),
    (_deep(), "deeper than 32 levels"),
    (2 ** 100_000, "integer of more than"),
], ids=["binary-sharing", "wide-sharing", "shared-string", "cycle", "deep", "huge-int"])
def test_a_globus_data_bomb_is_refused_in_bounded_time_and_memory(tmp_path, scope, words):
    from gladier_jupyter.auth.errors import GlobusDataError
    from gladier_jupyter.auth.hub import decode_globus_data
    from gladier_jupyter.auth.state import AuthSession
    from gladier_jupyter.auth.storage import TokenStore

    state = {"tokens": {"search.api.globus.org": {
        "access_token": ACCESS, "refresh_token": ACCESS[::-1], "expires_in": 3600,
        "resource_server": "search.api.globus.org", "scope": scope, "token_type": "Bearer"}}}
    value = base64.b64encode(pickle.dumps(state, protocol=4)).decode()
    assert len(value) < 300_000  # small on the wire; huge once expanded into text

    tracemalloc.start()
    try:
        with pytest.raises(GlobusDataError) as err:
            decode_globus_data(value)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    message = str(err.value)
    assert message.startswith("GLOBUS_DATA is not a token dict"), message
    assert words in message and "respawn your server" in message
    assert "\n" not in message and ACCESS not in message and "openid" not in message
    # The decoded pickle plus a walk of at most 200,000 steps: a few MB, not gigabytes.
    assert peak < 60_000_000, f"decoding took {peak / 1e6:.0f} MB"

    # The path the server and the kernels take: reported as a problem, no tokens used.
    session = AuthSession(environ={"GLOBUS_DATA": value},
                          store=TokenStore(tmp_path / "tokens.json"), mode="globus")
    info = session.describe(["urn:globus:auth:scope:search.api.globus.org:all"])
    assert info["sources"] == []
    assert any(words in p for p in info["problems"])
    assert ACCESS not in json.dumps(info)


def test_an_overlong_globus_data_is_refused_unread():
    from gladier_jupyter.auth.errors import GlobusDataError
    from gladier_jupyter.auth.hub import decode_globus_data

    with pytest.raises(GlobusDataError) as err:
        decode_globus_data("A" * 3_000_000)
    assert "3.0 MB long" in str(err.value) and "refused unread" in str(err.value)


# --------------------------------------------------------------------------- mermaid

HOSTILE_NAMES = [
    "<img src=x onerror=alert(1)>",
    'Say "hi"]:::evil',
    "a[b](c){d}|e|;f",
    "#quot; and #60;script#62;",
    "tick `code`",
    "two\nlines",
]


def _decode_mermaid(label: str) -> str:
    label = label.replace("#quot;", '"')
    return re.sub(r"#(\d+);", lambda m: chr(int(m.group(1))), label)


def test_mermaid_export_codes_state_names_and_rule_values():
    from gladier_jupyter.flowgraph import FlowGraph

    names = HOSTILE_NAMES
    states: dict[str, dict] = {}
    for i, name in enumerate(names):
        nxt = names[i + 1] if i + 1 < len(names) else None
        states[name] = {"Type": "Pass", "Next": nxt} if nxt else {"Type": "Pass", "End": True}
    states[names[0]] = {"Type": "Choice", "Default": names[1], "Choices": [
        {"Variable": "$.input.x", "StringEquals": '<script>"x"</script>', "Next": names[2]}]}
    text = FlowGraph.build({"StartAt": names[0], "States": states}).to_mermaid()

    assert "<img" not in text and "<script" not in text and "</script" not in text
    labels = []
    for line in text.splitlines()[1:]:
        # Every label is one quoted string with no quote inside: nothing escapes it.
        assert line.count('"') in (0, 2), line
        labels += re.findall(r'"([^"]*)"', line)
    for name in names:
        shown = name.replace("\n", " ")
        assert any(_decode_mermaid(label).startswith(shown) for label in labels), (name, labels)
    assert any("<script>" in _decode_mermaid(label) for label in labels)  # the rule's value
    # The only markup left is the caption markup the exporter itself writes.
    for label in labels:
        assert re.sub(r"<br/><small>[^<>]*</small>", "", label).count("<") == 0, label
