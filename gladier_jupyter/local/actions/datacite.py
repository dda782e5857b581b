"""Globus's DataCite Mint action (``https://actions.globus.org/datacite/mint/basic_auth``).

https://docs.globus.org/api/flows/hosted-action-providers/ap-datacite-mint/ : ``username``
and ``password`` of a DataCite account, ``as_test``, and ``Doi``, the body of DataCite's
"create a DOI" request (https://support.datacite.org/docs/api-create-dois:
``{"type": "dois", "attributes": {"doi" | "prefix", "creators", "titles", "publisher",
"publicationYear", "event", ...}}``). Locally every DOI is minted under DataCite's test
prefix ``10.5072`` (which resolves nowhere), keeping the suffix asked for, and recorded
with its metadata in the state folder (``GET /api/actions/dois``,
:func:`gladier_jupyter.local.dois`); the credentials are never stored nor echoed. The
action's ``details`` is DataCite's answer, ``{"data": {"id", "type", "attributes"}}``.
"""

from __future__ import annotations

import datetime as dt
import secrets
import typing as t

from gladier_jupyter.local.actions import ActionHandle, ActionRequest, DoneHandle, check_body
from gladier_jupyter.local.actions.store import store_for

__all__ = ["TEST_PREFIX", "DataCiteMintProvider"]

TEST_PREFIX = "10.5072"
_STATES = {"publish": "findable", "register": "registered", "hide": "registered"}
INPUT_SCHEMA = {
    "type": "object",
    "properties": {
        "as_test": {"type": "boolean"},
        "username": {"type": "string", "minLength": 1},
        "password": {"type": "string", "minLength": 1},
        "Doi": {
            "type": "object",
            "properties": {
                "id": {"type": "string"},
                "type": {"const": "dois"},
                "attributes": {
                    "type": "object",
                    "properties": {
                        "doi": {"type": "string", "pattern": "^10\\.[0-9]{4,9}/\\S{1,200}$"},
                        "prefix": {"type": "string", "pattern": "^10\\.[0-9]{4,9}$"},
                        "suffix": {"type": "string", "pattern": "^\\S{1,200}$"},
                        "event": {"enum": ["publish", "register", "hide"]},
                        "creators": {"type": "array", "items": {"type": "object"}},
                        "titles": {"type": "array", "items": {"type": "object"}},
                        "publisher": {"type": ["string", "object"]},
                        "publicationYear": {"type": ["string", "integer"]},
                        "url": {"type": "string"},
                    },
                },
            },
            "required": ["attributes"],
        },
    },
    "required": ["username", "password", "Doi"],
}
_HINTS = {"Doi": "the DataCite JSON API body: {'type': 'dois', 'attributes': {...}}",
          "username": "the DataCite repository account; it is never sent anywhere locally",
          "password": "the DataCite repository password; it is never stored locally"}


def _suffix(doi_doc: dict[str, t.Any]) -> str:
    attrs = doi_doc.get("attributes") or {}
    for asked in (attrs.get("doi"), doi_doc.get("id")):
        if isinstance(asked, str) and "/" in asked:
            return asked.split("/", 1)[1]
    if attrs.get("suffix"):
        return str(attrs["suffix"])
    # DataCite's own auto-generated form: two groups of four characters.
    alphabet = "0123456789abcdefghjkmnpqrstvwxyz"
    text = "".join(secrets.choice(alphabet) for _ in range(8))
    return f"{text[:4]}-{text[4:]}"


class DataCiteMintProvider:
    scope = "https://auth.globus.org/scopes/5fac2e64-c734-4e6b-90ea-ff12ddbf9653/datacite_mint_basic_auth_action_all"
    title = "DataCite Mint"
    subtitle = "Mint a DOI (locally, under DataCite's test prefix 10.5072)"
    synchronous = True
    input_schema = INPUT_SCHEMA

    def start(self, body: t.Any, request: ActionRequest) -> ActionHandle:
        check_body(body, self.input_schema, "datacite/mint", _HINTS)
        asked = body["Doi"]
        attrs = dict(asked.get("attributes") or {})
        suffix = _suffix(asked)
        doi = f"{TEST_PREFIX}/{suffix}"
        now = dt.datetime.now(dt.timezone.utc).replace(microsecond=0).isoformat().replace("+00:00", "Z")
        event = attrs.pop("event", None)
        attrs.update(doi=doi, prefix=TEST_PREFIX, suffix=suffix, identifiers=attrs.get("identifiers", []),
                     state=_STATES.get(str(event), "draft"), created=now, updated=now,
                     registered=now if event in ("publish", "register") else None,
                     isActive=event == "publish")
        doc = {"data": {"id": doi, "type": "dois", "attributes": attrs,
                        "relationships": {"client": {"data": {"id": "local.gladier-jupyter", "type": "clients"}}}}}
        if not store_for(request.ctx).add_doi(doi, now, request.run_id, request.state_name, doc):
            # DataCite answers 422 "This DOI has already been taken" (its API's error list).
            return DoneHandle("FAILED", {"errors": [{"source": "doi", "uid": doi, "title": "This DOI has already been taken"}],
                                         "description": f"The DOI {doi} has already been taken; give Doi.attributes.doi "
                                                        "another suffix, or leave it out to have one made."})
        return DoneHandle("SUCCEEDED", doc)
