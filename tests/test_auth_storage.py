"""The stored login holds one Globus identity's tokens, never a mix of two people's."""

from __future__ import annotations

import json
import stat
import time

import pytest

from gladier_jupyter.auth import StoredIdentityMismatch
from gladier_jupyter.auth.state import AuthSession
from gladier_jupyter.auth.storage import TokenStore
from gladier_jupyter.errors import GladierJupyterUsageError

ALICE = "11111111-1111-4111-8111-111111111111"
BOB = "22222222-2222-4222-8222-222222222222"
FLOWS_RS = "flows.globus.org"
SEARCH_RS = "search.api.globus.org"
SECRET_A = "AgAlicesFlowsAccessToken0123456789"
SECRET_B = "AgBobsSearchAccessToken9876543210"
REFRESH_B = "AgBobsRefreshToken5555555555"
FLOW_SCOPE = ("https://auth.globus.org/scopes/0b3c5e7a-1111-4222-8333-944455556666/"
              "flow_0b3c5e7a_1111_4222_8333_944455556666_user")
OTHER_FLOW_SCOPE = ("https://auth.globus.org/scopes/7d2f4b10-aaaa-4bbb-8ccc-0d0e0f101112/"
                    "flow_7d2f4b10_aaaa_4bbb_8ccc_0d0e0f101112_user")


def _token(secret: str, scope: str, refresh: str | None = None) -> dict:
    return {"access_token": secret, "scope": scope, "refresh_token": refresh,
            "expires_at_seconds": int(time.time()) + 3600, "token_type": "Bearer"}


@pytest.fixture
def store(tmp_path):
    return TokenStore(tmp_path / "auth" / "tokens.json")


def test_saving_another_identitys_tokens_is_refused_and_keeps_the_first_login(store):
    store.save({FLOWS_RS: _token(SECRET_A, "urn:flows:all")}, identity_id=ALICE,
               username="alice@uni.edu")

    with pytest.raises(StoredIdentityMismatch) as err:
        store.save({SEARCH_RS: _token(SECRET_B, "urn:search:all", REFRESH_B)},
                   identity_id=BOB, username="bob@uni.edu")

    loaded = store.load()
    assert loaded is not None
    assert loaded.identity == "alice@uni.edu"
    assert set(loaded.tokens) == {FLOWS_RS}  # no token of Bob's under Alice's name
    assert loaded.tokens[FLOWS_RS].access_token == SECRET_A
    message = str(err.value)
    assert "\n" not in message
    assert "alice@uni.edu" in message and BOB in message and "log out" in message.lower()
    for secret in (SECRET_A, SECRET_B, REFRESH_B):
        assert secret not in message and secret not in repr(err.value)
    assert isinstance(err.value, GladierJupyterUsageError)
    assert stat.S_IMODE(store.path.stat().st_mode) == 0o600
    assert SECRET_B not in store.path.read_text()


def test_tokens_of_an_unknown_identity_are_not_added_to_a_known_login(store):
    store.save({FLOWS_RS: _token(SECRET_A, "urn:flows:all")}, identity_id=ALICE)

    with pytest.raises(StoredIdentityMismatch):
        store.save({SEARCH_RS: _token(SECRET_B, "urn:search:all")}, identity_id=None)

    assert set(store.load().tokens) == {FLOWS_RS}


def test_same_identity_adds_tokens_and_logout_allows_another_identity(store):
    store.save({FLOWS_RS: _token(SECRET_A, "urn:flows:all")}, identity_id=ALICE)
    store.save({SEARCH_RS: _token("AgAliceSearch", "urn:search:all")}, identity_id=ALICE)
    assert set(store.load().tokens) == {FLOWS_RS, SEARCH_RS}

    removed = store.clear()
    store.save({SEARCH_RS: _token(SECRET_B, "urn:search:all")}, identity_id=BOB,
               username="bob@uni.edu")

    assert {tok.access_token for tok in removed} == {SECRET_A, "AgAliceSearch"}
    loaded = store.load()
    assert loaded.identity == "bob@uni.edu" and set(loaded.tokens) == {SEARCH_RS}
    assert stat.S_IMODE(store.path.stat().st_mode) == 0o600


def test_a_file_already_mixing_two_identities_is_no_login_and_logout_clears_it(store):
    # What the older store wrote: globus-sdk's JSON layout with two identities in it.
    store.save({FLOWS_RS: _token(SECRET_A, "urn:flows:all")}, identity_id=ALICE)
    doc = json.loads(store.path.read_text())
    entry = dict(doc["data"]["globus"][FLOWS_RS], resource_server=SEARCH_RS,
                 identity_id=BOB, access_token=SECRET_B)
    doc["data"]["globus"][SEARCH_RS] = entry
    store.path.write_text(json.dumps(doc))

    assert store.load() is None
    with pytest.raises(StoredIdentityMismatch) as err:
        store.save({FLOWS_RS: _token("AgAliceNew", "urn:flows:all")}, identity_id=ALICE)
    assert SECRET_B not in str(err.value)

    assert {tok.access_token for tok in store.clear()} == {SECRET_A, SECRET_B}
    store.save({FLOWS_RS: _token("AgAliceNew", "urn:flows:all")}, identity_id=ALICE)
    assert store.load().tokens[FLOWS_RS].access_token == "AgAliceNew"


def test_logging_in_again_as_someone_else_is_refused_until_logout(tmp_path, auth_api):
    """Through the real login: Globus Auth (the local service's) answers for another person
    on the second login, as when a shared browser is logged in to a colleague's account."""
    session = AuthSession(environ={}, store=TokenStore(tmp_path / "auth" / "tokens.json"),
                          mode="globus")
    first = session.finish_login(auth_api.approve(session.start_login([FLOW_SCOPE])))
    assert first.identity == "local-user@localhost"
    ctx = auth_api.service.ctx
    ctx.identity_id, ctx.username = BOB, "bob@uni.edu"

    url = session.start_login([OTHER_FLOW_SCOPE])
    with pytest.raises(StoredIdentityMismatch) as err:
        session.finish_login(auth_api.approve(url))

    assert "local-user@localhost" in str(err.value) and BOB in str(err.value)
    stored = session.store.load()
    assert stored.identity == "local-user@localhost"
    assert stored.for_scope(OTHER_FLOW_SCOPE) is None
    assert session.pending is None  # the spent code is not offered again
    assert stat.S_IMODE(session.store.path.stat().st_mode) == 0o600

    session.logout()
    again = session.finish_login(auth_api.approve(session.start_login([OTHER_FLOW_SCOPE])))
    assert again.identity == "bob@uni.edu" and again.for_scope(OTHER_FLOW_SCOPE) is not None
