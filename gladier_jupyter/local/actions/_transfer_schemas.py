"""Input schemas of Globus's Transfer action providers, as the Transfer docs describe them
(https://docs.globus.org/api/transfer/action-providers/ and, for the older
``actions.globus.org/transfer/*`` names, https://docs.globus.org/api/flows/hosted-action-providers/).

Bodies in the older spelling (``source_endpoint_id``, ``transfer_items``, ``endpoint_id`` +
``items``...) are rewritten to the current one before they are checked, so both validate here.
"""

from __future__ import annotations

import typing as t

__all__ = ["SCHEMAS"]

_ID = {"type": "string", "minLength": 1, "maxLength": 128}
# Lengths and contents of paths are checked by _fs.split_path, which says which rule they break.
_PATH = {"type": "string"}
_BOOL = {"type": "boolean"}
_NOTIFY = {"notify_on_succeeded": _BOOL, "notify_on_failed": _BOOL, "notify_on_inactive": _BOOL}

TRANSFER: dict[str, t.Any] = {
    "type": "object",
    "required": ["source_endpoint", "destination_endpoint", "DATA"],
    "properties": {
        "source_endpoint": _ID, "destination_endpoint": _ID, "label": {"type": ["string", "null"], "maxLength": 128},
        "DATA": {"type": "array", "minItems": 1, "items": {
            "type": "object", "required": ["source_path", "destination_path"],
            "properties": {"DATA_TYPE": {"enum": ["transfer_item"]}, "source_path": _PATH,
                           "destination_path": _PATH, "recursive": {"type": ["boolean", "null"]},
                           "external_checksum": {"type": "string"}, "checksum_algorithm": {"type": "string"}}}},
        "sync_level": {"enum": [0, 1, 2, 3, "exists", "size", "mtime", "checksum", None]},
        "verify_checksum": _BOOL, "preserve_timestamp": _BOOL, "encrypt_data": _BOOL, "skip_source_errors": _BOOL,
        "fail_on_quota_errors": _BOOL, "delete_destination_extra": _BOOL, "store_base_path_info": _BOOL,
        "deadline": {"type": "string"}, "recursive_symlinks": {"enum": ["ignore", "keep", "copy"]},
        "filter_rules": {"type": ["array", "null"]}, **_NOTIFY,
    },
}
DELETE: dict[str, t.Any] = {
    "type": "object",
    "required": ["endpoint", "DATA"],
    "properties": {
        "endpoint": _ID, "label": {"type": ["string", "null"], "maxLength": 128}, "recursive": _BOOL,
        "ignore_missing": _BOOL, "interpret_globs": _BOOL, "deadline": {"type": "string"},
        "DATA": {"type": "array", "minItems": 1, "items": {
            "type": "object", "required": ["path"],
            "properties": {"DATA_TYPE": {"enum": ["delete_item"]}, "path": _PATH}}},
        **_NOTIFY,
    },
}
LS: dict[str, t.Any] = {
    "type": "object",
    "required": ["endpoint_id"],
    "properties": {
        "endpoint_id": _ID, "path": _PATH, "path_only": _BOOL, "show_hidden": _BOOL,
        "limit": {"type": "integer", "minimum": 0, "maximum": 100000},
        "offset": {"type": "integer", "minimum": 0, "maximum": 100000},
        "orderby": {"type": ["string", "array"]}, "filter": {"type": "string", "maxLength": 1000},
    },
}
STAT: dict[str, t.Any] = {
    "type": "object", "required": ["endpoint_id", "path"],
    "properties": {"endpoint_id": _ID, "path": _PATH},
}
MKDIR: dict[str, t.Any] = {
    "type": "object", "required": ["endpoint_id", "path"],
    "properties": {"endpoint_id": _ID, "path": _PATH},
}
COLLECTION_INFO: dict[str, t.Any] = {
    "type": "object", "required": ["endpoint_id"], "properties": {"endpoint_id": _ID},
}
MANAGE_PERMISSION: dict[str, t.Any] = {
    "type": "object",
    "required": ["endpoint_id", "operation"],
    "properties": {
        "operation": {"enum": ["CREATE", "UPDATE", "DELETE", "LIST"]}, "endpoint_id": _ID, "path": _PATH,
        "principal_type": {"enum": ["identity", "group", "all_authenticated_users", "anonymous"]},
        "principal": {"type": "string"}, "permissions": {"enum": ["r", "rw"]}, "rule_id": _ID,
        "notify_email": {"type": ["string", "null"]}, "notify_message": {"type": ["string", "null"]},
        "expiration_date": {"type": ["string", "null"]},
    },
    "allOf": [
        {"if": {"properties": {"operation": {"const": "CREATE"}}},
         "then": {"required": ["path", "principal_type", "permissions"]}},
        {"if": {"properties": {"operation": {"const": "UPDATE"}}}, "then": {"required": ["rule_id", "permissions"]}},
        {"if": {"properties": {"operation": {"const": "DELETE"}}}, "then": {"required": ["rule_id"]}},
    ],
}

SCHEMAS: dict[str, dict[str, t.Any]] = {
    "transfer": TRANSFER, "delete": DELETE, "ls": LS, "stat": STAT, "mkdir": MKDIR,
    "collection_info": COLLECTION_INFO, "manage_permission": MANAGE_PERMISSION,
}
