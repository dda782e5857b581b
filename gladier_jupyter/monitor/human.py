"""What a run asks of a person, and what it tells one: the choices a run waits on, the
emails it "sent", and how far the local service clock was moved.

- Wait For User Selection (``weboption/wait_for_option``,
  https://docs.globus.org/api/flows/hosted-action-providers/ap-weboption-wait-for-option/):
  each option has a ``name``, a ``url_suffix`` and maybe a ``description``; selecting one
  is accessing its address. Locally the waiting options are listed at
  ``GET /api/actions/weboption/waiting`` and an address answers at
  ``/api/actions/actions.globus.org/weboption/option/<url_suffix>``.
- Flows web inputs (``AwaitWebInput``): the run is INACTIVE with details code
  ``AwaitingWebInput`` and a ``web_input_id``; ``get_web_input`` lists the options
  (``option_id``, ``label``, ``description``) and ``respond_to_web_input`` answers.
- Send Notification Email: locally each message lands in the outbox
  (``GET /api/actions/outbox?run_id=``).
- The local clock: log entries carry ``details.clock_offset`` while it is ahead.

Every call goes through the run's own FlowsClient (its transport and authorizer), so no
token ever reaches a view: a choice carries only what the run log shows anyway.
"""

from __future__ import annotations

import re
import typing as t
import urllib.parse

from gladier_jupyter.monitor.log import response_data
from gladier_jupyter.monitor.model import RunModel

__all__ = ["answer", "choices", "clock_badge", "outbox_lines"]

WEBOPTION = "weboption/wait_for_option"
NOTIFY = "notification/notify"
_SUFFIX = re.compile(r"^[A-Za-z0-9_.~-]{1,256}$")
_EMAIL = re.compile(r"^email to .+: ", re.S)


def _actions_url(flows_client: t.Any, path: str) -> str:
    """The local service's actions API URL beside the client's flows API."""
    base = str(flows_client.base_url).rstrip("/")
    if not base.endswith("/flows"):
        raise ValueError(f"{base[:80]!r} is not a local service's flows API address.")
    return f"{base[:-len('flows')]}actions/{path}"


def _states_using(model: RunModel, action: str) -> set[str]:
    states = (model.definition or {}).get("States") or {}
    return {name for name, state in states.items()
            if isinstance(state, dict) and action in str(state.get("ActionUrl") or "")}


def _running(model: RunModel) -> set[str]:
    """States started and not ended yet, from the log."""
    running: set[str] = set()
    for entry in model.entries:
        details = entry.get("details") or {}
        name = details.get("state_name") if isinstance(details, dict) else None
        if not name:
            continue
        code = str(entry.get("code") or "")
        if code.endswith("Started"):
            running.add(str(name))
        elif code.endswith(("Completed", "Succeeded", "Failed", "Caught", "TimedOut")):
            running.discard(str(name))
    return running


def web_input_id(model: RunModel) -> str:
    """The web input an INACTIVE run awaits, or ""."""
    details = model.run.get("details") or {}
    if model.status != "INACTIVE" or not isinstance(details, dict):
        return ""
    if details.get("code") != "AwaitingWebInput":
        return ""
    inner = details.get("details") or {}
    found = (inner.get("web_input_id") if isinstance(inner, dict) else None) or details.get("web_input_id")
    return str(found or "")


def needs_choices(model: RunModel, local: bool) -> bool:
    """Whether the run may be waiting on a person's choice now (worth asking the service)."""
    if model.terminal:
        return False
    if web_input_id(model):
        return True
    return local and bool(_states_using(model, WEBOPTION) & _running(model))


def choices(flows_client: t.Any, model: RunModel, local: bool) -> list[dict[str, str]]:
    """The buttons to show: ``kind`` ("weboption" or "web_input"), ``state``, ``key`` (the
    option's ``url_suffix`` or ``option_id``), ``label``, ``description``, ``title``."""
    found: list[dict[str, str]] = []
    wid = web_input_id(model)
    if wid:
        doc = response_data(flows_client.get_web_input(wid))
        if str(doc.get("status") or "open") == "open":
            state = str(((model.run.get("details") or {}).get("details") or {}).get("state_name") or "")
            title = str((doc.get("context") or {}).get("title") or "")
            for option in doc.get("options") or []:
                found.append({"kind": "web_input", "state": state, "key": str(option.get("option_id") or ""),
                              "label": str(option.get("label") or option.get("option_id") or ""),
                              "description": str(option.get("description") or ""), "title": title,
                              "web_input_id": wid})
    if local and not model.terminal and _states_using(model, WEBOPTION) & _running(model):
        doc = response_data(flows_client.get(_actions_url(flows_client, "weboption/waiting"),
                                             query_params={"run_id": model.run_id}))
        for wait in doc.get("waiting") or []:
            for option in wait.get("options") or []:
                found.append({"kind": "weboption", "state": str(wait.get("state_name") or ""),
                              "key": str(option.get("url_suffix") or ""), "label": str(option.get("name") or ""),
                              "description": str(option.get("description") or ""),
                              "title": str(wait.get("description") or ""), "url_suffix": str(option.get("url_suffix") or "")})
    return found


def answer(flows_client: t.Any, choice: t.Mapping[str, str]) -> dict[str, t.Any]:
    """Answer one of :func:`choices`: select the option / respond to the web input."""
    if choice["kind"] == "web_input":
        return response_data(flows_client.respond_to_web_input(choice["web_input_id"], value=choice["key"]))
    suffix = choice["key"]
    if not _SUFFIX.match(suffix):
        raise ValueError(f"url_suffix {suffix[:60]!r} is not an option address suffix.")
    path = "actions.globus.org/weboption/option/" + urllib.parse.quote(suffix)
    return response_data(flows_client.get(_actions_url(flows_client, path)))


def outbox_lines(flows_client: t.Any, model: RunModel, local: bool) -> list[str]:
    """"email to a@b: subject" for each email the run sent, oldest first: from the local
    outbox when there is one, else from the notify actions' ``details.description``."""
    lines: list[str] = []
    if local and _states_using(model, NOTIFY):
        doc = response_data(flows_client.get(_actions_url(flows_client, "outbox"),
                                             query_params={"run_id": model.run_id, "limit": 100}))
        for message in reversed(doc.get("messages") or []):
            lines.append(f"email to {message.get('destination')}: {message.get('subject')}")
        return lines
    for entry in model.entries:
        details = entry.get("details") or {}
        output = details.get("output") if isinstance(details, dict) else None
        inner = output.get("details") if isinstance(output, dict) else None
        text = inner.get("description") if isinstance(inner, dict) else None
        if isinstance(text, str) and _EMAIL.match(text):
            lines.append(text[:300])
    return lines


def clock_badge(model: RunModel) -> str:
    """"clock +1 h" (and "×60") when the run's documents show the service clock moved."""
    offset, speed = 0.0, 1.0
    docs = [model.run.get("details") or {}] + [e.get("details") or {} for e in model.entries]
    for details in docs:
        if isinstance(details, dict):
            try:
                offset = max(offset, float(details.get("clock_offset") or 0))
                speed = float(details.get("clock_speed") or speed)
            except (TypeError, ValueError):
                continue
    if offset < 1 and speed == 1.0:
        return ""
    text = "clock " + _duration(offset) if offset >= 1 else "clock"
    if speed != 1.0:
        text += f" ×{speed:g}"
    return text


def _duration(seconds: float) -> str:
    for unit, size in (("d", 86400), ("h", 3600), ("min", 60)):
        if seconds >= size:
            value = seconds / size
            return f"+{value:.0f} {unit}" if abs(value - round(value)) < 0.05 else f"+{value:.1f} {unit}"
    return f"+{seconds:.0f} s"
