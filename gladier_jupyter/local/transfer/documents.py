"""Transfer's documents for local collections, with the keys of globus-sdk's fixtures
(``globus_sdk.testing``: ``get_endpoint``, ``operation_stat``, ``task_list``) and of the
Transfer docs (https://docs.globus.org/api/transfer/).

A local collection is described as a GCSv5 *guest* collection: it stands for a folder one user
shares (access rules can be set on it, which Transfer allows on guest collections only), so flows
that check for one, such as Globus's "Transfer and Share Files" example, run unchanged.
"""

from __future__ import annotations

import datetime as dt
import grp
import os
import pwd
import stat
import typing as t

__all__ = ["endpoint_doc", "file_doc", "now", "task_doc"]

HOST_ENDPOINT = "00000000-0000-4000-8000-00000000c0de"


def now() -> str:
    return dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S+00:00")


def _ls_time(seconds: float) -> str:
    return dt.datetime.fromtimestamp(seconds, dt.timezone.utc).strftime("%Y-%m-%d %H:%M:%S+00:00")


def endpoint_doc(collection_id: str, root: str, owner: str, identity_id: str) -> dict[str, t.Any]:
    """``GET /endpoint/<id>``: every key of globus-sdk's ``get_endpoint`` fixture, plus GCSv5's."""
    return {
        "DATA_TYPE": "endpoint", "id": collection_id, "display_name": f"Local collection {collection_id}",
        "canonical_name": f"{owner}#{collection_id}", "name": collection_id,
        "organization": "gladier-jupyter local service", "department": None, "username": owner,
        "owner_string": owner, "owner_id": identity_id, "description": root, "keywords": None,
        "contact_email": None, "contact_info": None, "info_link": None,
        "entity_type": "GCSv5_guest_collection", "gcs_version": "5.4.0", "public": False,
        "french_english_bilingual": False, "is_globus_connect": False, "globus_connect_setup_key": None,
        "gcp_connected": None, "gcp_paused": None, "s3_url": None, "s3_owner_activated": False,
        "host_endpoint": None, "host_endpoint_id": HOST_ENDPOINT, "host_endpoint_display_name": "Local host",
        "host_path": None, "non_functional": False, "non_functional_endpoint_display_name": None,
        "non_functional_endpoint_id": None, "disable_verify": False, "disable_anonymous_writes": False,
        "force_verify": False, "force_encryption": False, "mfa_required": False, "myproxy_server": None,
        "myproxy_dn": None, "oauth_server": None, "default_directory": "/", "activated": True,
        "expires_in": -1, "expire_time": None, "shareable": True, "acl_available": True,
        "acl_editable": True, "in_use": False, "local_user_info_available": True, "https_server": None,
        "network_use": "normal", "location": None, "subscription_id": None, "high_assurance": False,
        "authentication_assurance_timeout": None, "DATA": [{
            "DATA_TYPE": "server", "hostname": "127.0.0.1", "uri": "file://localhost", "port": None,
            "scheme": "file", "id": 1, "subject": None, "incoming_data_port_start": None,
            "incoming_data_port_end": None, "outgoing_data_port_start": None, "outgoing_data_port_end": None,
            "is_connected": True, "is_paused": False}],
    }


def _user(uid: int) -> str:
    try:
        return pwd.getpwuid(uid).pw_name
    except KeyError:
        return str(uid)


def _group(gid: int) -> str:
    try:
        return grp.getgrgid(gid).gr_name
    except KeyError:
        return str(gid)


def file_doc(name: str, info: os.stat_result, link_target: str | None) -> dict[str, t.Any]:
    """One ``operation/ls`` entry, or the ``operation/stat`` answer (the same document)."""
    is_link = link_target is not None
    return {
        "DATA_TYPE": "file", "name": name, "type": "dir" if stat.S_ISDIR(info.st_mode) else "file",
        "size": info.st_size, "permissions": oct(stat.S_IMODE(info.st_mode))[2:].zfill(4),
        "last_modified": _ls_time(info.st_mtime), "user": _user(info.st_uid), "group": _group(info.st_gid),
        "link_target": link_target, "link_user": _user(info.st_uid) if is_link else None,
        "link_group": _group(info.st_gid) if is_link else None,
        "link_size": info.st_size if is_link else None,
        "link_last_modified": _ls_time(info.st_mtime) if is_link else None,
    }


def task_doc(task_id: str, kind: str, body: dict[str, t.Any], owner_id: str, owner: str,
             source: str | None, destination: str | None, items: int) -> dict[str, t.Any]:
    """A fresh task document (``GET /task/<id>``) with every key of globus-sdk's ``task_list``
    fixture and of the Transfer action provider's example result; the copy fills in the rest."""
    requested = now()
    deadline = body.get("deadline") or (
        dt.datetime.now(dt.timezone.utc) + dt.timedelta(days=1)).strftime("%Y-%m-%dT%H:%M:%S+00:00")
    return {
        "DATA_TYPE": "task", "task_id": task_id, "type": kind, "label": body.get("label"),
        "status": "ACTIVE", "nice_status": "Queued", "nice_status_details": None,
        "nice_status_expires_in": -1, "nice_status_short_description": None, "is_ok": True,
        "is_paused": False, "request_time": requested, "completion_time": None, "deadline": deadline,
        "command": "API 0.10", "owner_id": owner_id, "username": owner,
        "source_endpoint": source, "source_endpoint_id": source,
        "source_endpoint_display_name": source and f"Local collection {source}",
        "destination_endpoint": destination, "destination_endpoint_id": destination,
        "destination_endpoint_display_name": destination and f"Local collection {destination}",
        "files": 0, "directories": 0, "symlinks": 0, "files_skipped": 0, "files_transferred": 0,
        "bytes_transferred": 0, "bytes_checksummed": 0, "effective_bytes_per_second": 0,
        "faults": 0, "fatal_error": None, "event_list": [], "history_deleted": False,
        "canceled_by_admin": None, "canceled_by_admin_message": None,
        "subtasks_total": items, "subtasks_pending": items, "subtasks_retrying": 0,
        "subtasks_succeeded": 0, "subtasks_failed": 0, "subtasks_canceled": 0, "subtasks_expired": 0,
        "subtasks_skipped_errors": 0,
        "sync_level": body.get("sync_level"), "verify_checksum": bool(body.get("verify_checksum", True)),
        "encrypt_data": bool(body.get("encrypt_data", False)),
        "preserve_timestamp": bool(body.get("preserve_timestamp", False)),
        "delete_destination_extra": bool(body.get("delete_destination_extra", False)),
        "skip_source_errors": bool(body.get("skip_source_errors", False)),
        "fail_on_quota_errors": bool(body.get("fail_on_quota_errors", False)),
        "filter_rules": body.get("filter_rules"),
        # Globus's default, and the only behaviour here: links met while walking are skipped.
        "recursive_symlinks": "ignore",
    }


def finish(doc: dict[str, t.Any], ok: bool, *, nice_status: str | None = None,
           description: str | None = None) -> None:
    """End a task: SUCCEEDED, or FAILED with Transfer's ``nice_status`` and ``fatal_error``."""
    items = doc["subtasks_total"]
    doc.update(completion_time=now(), subtasks_pending=0)
    if ok:
        doc.update(status="SUCCEEDED", nice_status=None, is_ok=None, subtasks_succeeded=items)
        doc["event_list"].append({"DATA_TYPE": "event", "code": "SUCCEEDED", "is_error": False,
                                  "description": "succeeded", "details": "", "time": doc["completion_time"]})
        return
    doc.update(status="FAILED", nice_status=nice_status, nice_status_short_description=nice_status,
               nice_status_details=description, is_ok=False, faults=1, subtasks_failed=items,
               fatal_error={"code": nice_status, "description": description},
               # The one-line reason, where the flow engine shows an action's failure.
               description=description)
    doc["event_list"].append({"DATA_TYPE": "event", "code": nice_status, "is_error": True,
                              "description": description, "details": description,
                              "time": doc["completion_time"]})
