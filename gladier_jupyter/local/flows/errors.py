"""Flows service errors: one class per error code, rendered as the Flows JSON error body.

``{"error": {"code": ..., "detail": ...}, "debug_id": ...}``; a 422's ``detail`` is a list
of ``{"loc", "msg", "type"}`` (what globus-sdk's ``FlowsAPIError`` reads ``messages`` from).
"""

from __future__ import annotations

import typing as t
import uuid

from gladier_jupyter.local._http import ApiError

__all__ = [
    "FlowsError",
    "NotFound",
    "StateConflict",
    "Unprocessable",
    "BadRequest",
    "FlowInputError",
]


class FlowsError(ApiError):
    http_status = 500
    code = "UNKNOWN_ERROR"

    def detail(self) -> t.Any:
        return self.message

    def body(self) -> dict[str, t.Any]:
        return {"error": {"code": self.code, "detail": self.detail()}, "debug_id": str(uuid.uuid4())}


class NotFound(FlowsError):
    http_status = 404
    code = "NOT_FOUND"


class StateConflict(FlowsError):
    http_status = 409
    code = "STATE_CONFLICT"


class BadRequest(FlowsError):
    http_status = 400
    code = "BAD_REQUEST"


class Unprocessable(FlowsError):
    """422 with every problem: ``problems`` is a list of ``(loc, msg, type)``."""

    http_status = 422
    code = "UNPROCESSABLE_ENTITY"

    def __init__(self, problems: list[tuple[list[t.Any], str, str]]):
        self.problems = problems
        super().__init__("; ".join(msg for _, msg, _ in problems) or "Unprocessable entity.")

    def detail(self) -> t.Any:
        return [{"loc": list(loc), "msg": msg, "type": typ} for loc, msg, typ in self.problems]

    def body(self) -> dict[str, t.Any]:
        doc = super().body()
        n = len(self.problems)
        where = "; ".join(
            "$." + ".".join(str(part) for part in loc) + f": {msg}" for loc, msg, _ in self.problems
        )
        doc["error"]["message"] = f"{n} validation error{'s' if n != 1 else ''} in body. {where}"
        return doc


class FlowInputError(FlowsError):
    """400 for a run input the flow refuses (its input_schema, its RunAs tokens), in the
    shape of globus-sdk's ``flows.validate_run`` ``invalid_input_payload`` fixture:
    ``detail`` is a list of ``{"loc": ["$.bool"], "type": "InvalidActionInput", "msg"}``
    and ``message`` is ``"Input failed schema validation with N error(s)."``."""

    http_status = 400
    code = "FLOW_INPUT_ERROR"

    def __init__(self, problems: list[tuple[str, str]], message: str | None = None):
        self.problems = problems  # (JSONPath loc, msg)
        n = len(problems)
        self.summary = message or f"Input failed schema validation with {n} error{'s' if n != 1 else ''}."
        super().__init__("; ".join(f"{loc}: {msg}" for loc, msg in problems) or self.summary)

    def detail(self) -> t.Any:
        return [{"loc": [loc], "type": "InvalidActionInput", "msg": msg} for loc, msg in self.problems]

    def body(self) -> dict[str, t.Any]:
        doc = super().body()
        doc["error"]["message"] = self.summary
        return doc
