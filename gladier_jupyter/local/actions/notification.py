"""Globus's Send Notification Email action (``https://actions.globus.org/notification/notify``).

https://docs.globus.org/api/flows/hosted-action-providers/ap-notification-notify/ : an email
from ``sender`` to ``destination`` with ``subject`` and ``body_template``, whose ``$name`` /
``${name}`` placeholders take ``body_variables`` (Python's :class:`string.Template`; an unknown
placeholder stays as written), sent through the SMTP or AWS SES account of
``send_credentials``. Here nothing leaves the machine: the message lands in the local
outbox (:mod:`.store`, ``GET /api/actions/outbox``, :func:`gladier_jupyter.local.outbox`),
and the credentials, checked for shape, are never stored nor echoed.
"""

from __future__ import annotations

import string
import typing as t
import uuid

from gladier_jupyter.local.actions import (
    ActionHandle,
    ActionRequest,
    ActionUnableToRun,
    DoneHandle,
    check_body,
)
from gladier_jupyter.local.actions.store import store_for

__all__ = ["MAX_BODY", "NotificationProvider", "render"]

#: The longest email body kept (characters, after the variables are filled in).
MAX_BODY = 256 * 1024

_CREDENTIAL = {
    "type": "object",
    "properties": {
        "credential_method": {"type": "string"},
        "credential_type": {"enum": ["smtp", "ses"]},
        "credential_value": {"type": "object"},
    },
    "required": ["credential_type", "credential_value"],
}
INPUT_SCHEMA = {
    "type": "object",
    "properties": {
        "destination": {"type": "string", "minLength": 3, "maxLength": 2000},
        "sender": {"type": "string", "maxLength": 320},
        "subject": {"type": "string", "maxLength": 998},
        "body_template": {"type": "string", "maxLength": MAX_BODY},
        "body_mimetype": {"enum": ["text/plain", "text/html"]},
        "body_variables": {"type": "object"},
        "notification_method": {"enum": ["any", "email"]},
        "notification_priority": {"enum": ["low", "medium", "high"]},
        "send_credentials": {"type": "array", "minItems": 1, "items": _CREDENTIAL},
        "__Private_Parameters": {"type": "array", "items": {"type": "string"}},
    },
    "required": ["destination", "body_template", "send_credentials"],
}
_HINTS = {"send_credentials": "a list with one SMTP or SES credential; nothing is sent with it locally",
          "destination": "the recipient's email address"}


def render(template: str, variables: dict[str, t.Any], limit: int = MAX_BODY) -> str | None:
    """``template`` with its placeholders filled from ``variables`` (as
    :meth:`string.Template.safe_substitute`), or ``None`` once it would pass ``limit``
    characters: a short template repeating a long variable is refused before it is built."""
    values = {str(k): _text(v) for k, v in variables.items()}
    out: list[str] = []
    size = last = 0
    for found in string.Template.pattern.finditer(template):
        name = found.group("named") or found.group("braced")
        piece = "$" if found.group("escaped") is not None else values.get(name, found.group(0)) if name else found.group(0)
        chunk = template[last:found.start()]
        size += len(chunk) + len(piece)
        if size > limit:
            return None
        out += [chunk, piece]
        last = found.end()
    out.append(template[last:])
    return "".join(out) if size + len(template) - last <= limit else None


def _text(value: t.Any) -> str:
    import json

    return value if isinstance(value, str) else json.dumps(value) if isinstance(value, (dict, list)) else str(value)


class NotificationProvider:
    scope = "https://auth.globus.org/scopes/5fac2e64-c734-4e6b-90ea-ff12ddbf9653/notification_notify"
    title = "Send Notification Email"
    subtitle = "Send an email (kept in the local outbox: nothing leaves the machine)"
    synchronous = True
    input_schema = INPUT_SCHEMA
    #: The run log's entry says what was sent: "... completed: email to a@b: subject".
    log_details = True

    def start(self, body: t.Any, request: ActionRequest) -> ActionHandle:
        check_body(body, self.input_schema, "notification/notify", _HINTS)
        import datetime as dt

        now = dt.datetime.now(dt.timezone.utc).isoformat()
        message_id = f"<{uuid.uuid4()}@gladier-jupyter.localhost>"
        destinations = [d.strip() for d in str(body["destination"]).split(",") if d.strip()]
        rendered = render(body["body_template"], body.get("body_variables") or {})
        if rendered is None:
            raise ActionUnableToRun(f"The notification/notify body_template with its body_variables makes an email "
                                    f"over {MAX_BODY:,} characters; send less, or a link to it.")
        message = {
            "time": now, "run_id": request.run_id, "state_name": request.state_name,
            "sender": body.get("sender"), "destination": ", ".join(destinations),
            "subject": body.get("subject", ""), "mimetype": body.get("body_mimetype", "text/plain"),
            "body": rendered, "message_id": message_id,
        }
        outbox_id = store_for(request.ctx).add_message(message)
        return DoneHandle("SUCCEEDED", {
            "code": "MessageSent",
            "description": f"email to {message['destination']}: {message['subject']}",
            "message_id": message_id, "outbox_id": outbox_id, "destination": destinations,
            "sender": message["sender"], "subject": message["subject"], "delivered": "local outbox",
        })
