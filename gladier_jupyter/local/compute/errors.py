"""Errors of the local Compute API, rendered in one place as the Compute service's JSON body."""

from __future__ import annotations

import typing as t

from gladier_jupyter.local._http import ApiError

__all__ = [
    "BadRequest",
    "ComputeError",
    "FunctionNotFound",
    "TaskNotFound",
]


class ComputeError(ApiError):
    """Base of the Compute API's errors.

    The body carries a string ``code`` and a ``message`` (so globus-sdk's
    ``ComputeAPIError`` exposes them as ``.code`` and ``.message``) plus the ``reason`` and
    ``http_status_code`` fields the Compute web service has always sent.
    """

    http_status = 500
    code = "INTERNAL_ERROR"

    def body(self) -> dict[str, t.Any]:
        return {
            "code": self.code,
            "message": self.message,
            "reason": self.message,
            "http_status_code": self.http_status,
        }


class BadRequest(ComputeError):
    http_status = 400
    code = "BAD_REQUEST"


class FunctionNotFound(ComputeError):
    http_status = 404
    code = "FUNCTION_NOT_FOUND"

    def __init__(self, function_id: str):
        super().__init__(
            f"Function {function_id!r} is not registered with the local Compute service; "
            "register it first (Client.register_function)."
        )


class TaskNotFound(ComputeError):
    http_status = 404
    code = "TASK_NOT_FOUND"

    def __init__(self, task_id: str):
        super().__init__(f"Task {task_id!r} is not known to the local Compute service.")
