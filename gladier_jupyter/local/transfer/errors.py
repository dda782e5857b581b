"""The local Transfer API's errors, in Transfer's body: ``{"code", "message", "request_id", "resource"}``."""

from __future__ import annotations

import typing as t
import uuid

from gladier_jupyter.local._http import ApiError

__all__ = ["TransferError"]


class TransferError(ApiError):
    """One Transfer error; ``code`` is Transfer's (``ClientError.NotFound``, ``NotFound``,
    ``PermissionDenied``, ``ExternalError.MkdirFailed.Exists``...)."""

    code = "ClientError"
    not_found_code = "ClientError.NotFound"

    def __init__(self, message: str, *, http_status: int | None = None, code: str | None = None,
                 resource: str | None = None):
        super().__init__(message, http_status=http_status, code=code)
        self.resource = resource

    def body(self) -> dict[str, t.Any]:
        return {"code": self.code, "message": self.message, "request_id": uuid.uuid4().hex[:9],
                "resource": self.resource}


def bad_request(message: str) -> TransferError:
    return TransferError(message, http_status=400, code="ClientError.BadRequest")
