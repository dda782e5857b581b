"""GIngest documents (a GMetaEntry or a GMetaList) checked and turned into entries to store.

See https://docs.globus.org/api/search/reference/ingest/ for the document shapes.
"""

from __future__ import annotations

import typing as t

from .errors import ValidationError

__all__ = ["ingest_entries"]


def ingest_entries(doc: t.Any) -> list[dict[str, t.Any]]:
    if not isinstance(doc, dict):
        raise ValidationError("The ingest document must be a JSON object (a GIngest).")
    kind = doc.get("ingest_type")
    data = doc.get("ingest_data")
    if kind == "GMetaEntry":
        raw = [data]
    elif kind == "GMetaList":
        if not isinstance(data, dict) or not isinstance(data.get("gmeta"), list):
            raise ValidationError("A GMetaList ingest needs ingest_data.gmeta, a list of entries.")
        raw = data["gmeta"]
    else:
        raise ValidationError(
            f"The ingest_type {kind!r} is not supported; use 'GMetaEntry' or 'GMetaList'."
        )
    entries = []
    for i, item in enumerate(raw):
        where = "ingest_data" if kind == "GMetaEntry" else f"ingest_data.gmeta[{i}]"
        if not isinstance(item, dict):
            raise ValidationError(f"{where} is not an object.")
        subject = item.get("subject")
        if not isinstance(subject, str) or not subject:
            raise ValidationError(f"{where}.subject must be a non-empty string; got {subject!r}.")
        visible_to = item.get("visible_to")
        if (
            not isinstance(visible_to, list)
            or not visible_to
            or not all(isinstance(p, str) for p in visible_to)
        ):
            raise ValidationError(
                f"{where}.visible_to must be a non-empty list of principals such as "
                f"'public'; got {visible_to!r}."
            )
        content = item.get("content")
        if not isinstance(content, dict):
            raise ValidationError(f"{where}.content must be an object; got {content!r}.")
        entry_id = item.get("id", item.get("entry_id"))
        if entry_id is not None and not isinstance(entry_id, str):
            raise ValidationError(f"{where}.id must be a string; got {entry_id!r}.")
        entries.append(
            {"subject": subject, "entry_id": entry_id, "content": content, "visible_to": visible_to}
        )
    return entries
