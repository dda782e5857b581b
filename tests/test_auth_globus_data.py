"""GLOBUS_DATA as JupyterHub's GlobusOAuthenticator writes it: read, and never executed."""

from __future__ import annotations

import asyncio
import base64
import json
import os
import pathlib
import pickle

import pytest

from gladier_jupyter.auth import GlobusDataError
from gladier_jupyter.auth.hub import decode_globus_data, token_set_from_auth_state
from gladier_jupyter.auth.state import AuthSession
from gladier_jupyter.auth.storage import TokenStore

DATA = pathlib.Path(__file__).parent / "data" / "auth"
SEARCH = "urn:globus:auth:scope:search.api.globus.org:all"
FLOWS_RUN = "https://auth.globus.org/scopes/eec9b274-0c81-4334-bdc2-54e90e689b9a/run"
COMPUTE = "https://auth.globus.org/scopes/facd7ccc-c5f4-42aa-916b-a0e270e2c2a9/all"


def _load(name: str) -> dict:
    doc = json.loads((DATA / name).read_text())
    doc.pop("_comment", None)
    return doc


class _User:
    """What ``pre_spawn_start`` needs of a JupyterHub user: its decrypted auth_state."""

    def __init__(self, state: dict) -> None:
        self._state = state

    async def get_auth_state(self) -> dict:
        return self._state


class _Spawner:
    def __init__(self) -> None:
        self.environment: dict[str, str] = {}


def spawner_environment() -> dict[str, str]:
    """The single-user environment oauthenticator's GlobusOAuthenticator builds at spawn."""
    from oauthenticator.globus import GlobusOAuthenticator

    authenticator = GlobusOAuthenticator(client_id="hub-client-id", client_secret="hub-secret")
    state = authenticator.build_auth_state_dict(
        _load("globus_token_response.json"), _load("globus_user_info.json")
    )
    spawner = _Spawner()
    asyncio.run(authenticator.pre_spawn_start(_User(state), spawner))
    return spawner.environment


@pytest.fixture
def auth_dir(tmp_path, monkeypatch):
    monkeypatch.setenv("GLADIER_JUPYTER_AUTH_DIR", str(tmp_path / "auth"))
    return tmp_path / "auth"


def test_globus_data_from_oauthenticator_gives_every_resource_servers_token(auth_dir):
    env = spawner_environment()
    state = decode_globus_data(env["GLOBUS_DATA"])
    tokens = token_set_from_auth_state(state, "GLOBUS_DATA")

    # GlobusOAuthenticator leaves out auth.globus.org by default: four resource servers remain.
    assert sorted(tokens.tokens) == [
        "flows.globus.org", "funcx_service", "search.api.globus.org", "transfer.api.globus.org"
    ]
    assert tokens.for_scope(SEARCH).access_token == "SEARCH-access-5a9e2d7c31"
    assert tokens.for_scope(FLOWS_RUN).access_token == "FLOWS-access-3c7a9d1e54"
    assert tokens.for_scope(COMPUTE).access_token == "COMPUTE-access-9d5b3a7e20"
    assert tokens.identity == "scientist@globusid.org"
    assert tokens.client_id == "hub-client-id"
    assert not tokens.for_scope(SEARCH).expired()


def test_session_reads_globus_data_and_hands_search_authorizer(auth_dir, tmp_path):
    env = spawner_environment()
    session = AuthSession(environ=env, store=TokenStore(tmp_path / "tokens.json"), mode="globus")

    authorizer = session.authorizer_for(SEARCH)

    assert authorizer.get_authorization_header() == "Bearer SEARCH-access-5a9e2d7c31"
    info = session.describe([SEARCH, FLOWS_RUN, COMPUTE, "https://auth.globus.org/scopes/"
                             "0b3c5e7a-1111-4222-8333-944455556666/flow_0b3c5e7a_1111_4222_8333_"
                             "944455556666_user"])
    assert info["sources"] == ["GLOBUS_DATA"]
    assert info["identity"] == "scientist@globusid.org"
    rows = {row["label"]: row for row in info["scopes"]}
    assert list(rows) == ["Flows", "Compute", "Search", "Transfer", "Flow 0b3c5e7a"]
    assert [row["held"] for row in rows.values()] == [True, True, True, True, False]
    assert rows["Search"]["source"] == "GLOBUS_DATA"
    assert len(rows["Flows"]["scopes"]) == 5
    assert rows["Flow 0b3c5e7a"]["missing"] == rows["Flow 0b3c5e7a"]["scopes"]


def test_malicious_globus_data_is_refused_without_running_it(auth_dir, tmp_path):
    canary = tmp_path / "canary"

    class Exploit:
        def __reduce__(self):
            return (os.system, (f"touch {canary}",))

    value = base64.b64encode(pickle.dumps({"tokens": {}, "x": Exploit()})).decode()
    # The payload really calls os.system (pickled as posix.system) when plainly unpickled.
    assert b"system" in base64.b64decode(value)

    with pytest.raises(GlobusDataError) as err:
        decode_globus_data(value)

    assert "GLOBUS_DATA is not a token dict" in str(err.value)
    assert "forbidden" in str(err.value)
    assert not canary.exists()


def test_session_with_malicious_globus_data_reports_it_and_runs_nothing(auth_dir, tmp_path):
    canary = tmp_path / "canary2"

    class Exploit:
        def __reduce__(self):
            return (os.system, (f"touch {canary}",))

    env = {"GLOBUS_DATA": base64.b64encode(pickle.dumps(Exploit())).decode()}
    session = AuthSession(environ=env, store=TokenStore(tmp_path / "tokens.json"), mode="globus")

    info = session.describe([SEARCH])

    assert info["sources"] == []
    assert any("GLOBUS_DATA is not a token dict" in p for p in info["problems"])
    assert not canary.exists()


@pytest.mark.parametrize(
    "value, reason",
    [
        ("this is not base64 !!", "not valid base64"),
        (base64.b64encode(b"\x80\x04garbage bytes").decode(), "damaged or truncated"),
        (base64.b64encode(pickle.dumps(["a", "list"])).decode(), "without a 'tokens' dict"),
        (base64.b64encode(pickle.dumps({"no": "tokens"})).decode(), "without a 'tokens' dict"),
    ],
    ids=["not-base64", "garbage-pickle", "list", "dict-without-tokens"],
)
def test_garbage_globus_data_gives_the_clear_error(value, reason):
    with pytest.raises(GlobusDataError) as err:
        decode_globus_data(value)
    assert str(err.value).startswith("GLOBUS_DATA is not a token dict")
    assert reason in str(err.value)


def test_truncated_globus_data_gives_the_clear_error(auth_dir):
    raw = base64.b64decode(spawner_environment()["GLOBUS_DATA"])
    truncated = base64.b64encode(raw[: len(raw) // 2]).decode()

    with pytest.raises(GlobusDataError) as err:
        decode_globus_data(truncated)

    assert "damaged or truncated" in str(err.value)
    # The message names the variable and the fix, and carries none of the token strings.
    assert "respawn your server" in str(err.value)
    assert "access" not in str(err.value)
