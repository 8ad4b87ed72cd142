"""The exceptions the management client raises, and how an HTTP answer maps onto them.

ApiError                      anything the client raises (status_code None: no answer)
├── ApiConnectionError        the API could not be reached, or did not answer in time
├── InvalidRequestError       400 invalid_request (`field` names the culprit)
├── AuthenticationError       401 authentication_failed
├── PermissionDeniedError     403 permission_denied
├── NotFoundError             404 not_found (also another account's objects)
├── ConflictError             409 conflict (an Idempotency-Key reused with another payload)
├── PayloadTooLargeError      413 payload_too_large
├── ServiceUnavailableError   503 service_unavailable
└── InternalServerError       500 and any other answer the API does not describe
"""

from __future__ import annotations

import json
from typing import Any

__all__ = [
    "ApiConnectionError",
    "ApiError",
    "AuthenticationError",
    "ConflictError",
    "InternalServerError",
    "InvalidRequestError",
    "NotFoundError",
    "PayloadTooLargeError",
    "PermissionDeniedError",
    "ServiceUnavailableError",
    "error_from_answer",
]

# How much of a non-JSON error body (a proxy's HTML page, say) goes into the message.
MAX_QUOTED_BODY_CHARS = 200


class ApiError(Exception):
    """The API refused the request."""

    error_type: str = "api_error"

    def __init__(
        self,
        message: str | None = None,
        *,
        status_code: int | None = None,
        error_type: str | None = None,
        field: str | None = None,
    ) -> None:
        self.message = message or (type(self).__doc__ or "").strip()
        self.status_code = status_code
        if error_type is not None:
            self.error_type = error_type
        self.field = field
        super().__init__(self.message)

    def __str__(self) -> str:
        where = f" (field {self.field})" if self.field else ""
        status = f", HTTP {self.status_code}" if self.status_code is not None else ""
        return f"{self.message}{where} [{self.error_type}{status}]"

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(message={self.message!r}, status_code={self.status_code!r}, "
            f"error_type={self.error_type!r}, field={self.field!r})"
        )


class ApiConnectionError(ApiError):
    """The API could not be reached."""

    error_type = "connection_error"


class InvalidRequestError(ApiError):
    """The request is invalid."""

    error_type = "invalid_request"


class AuthenticationError(ApiError):
    """A valid API key is required."""

    error_type = "authentication_failed"


class PermissionDeniedError(ApiError):
    """This API key may not perform this action."""

    error_type = "permission_denied"


class NotFoundError(ApiError):
    """No such object."""

    error_type = "not_found"


class ConflictError(ApiError):
    """The request conflicts with the current state."""

    error_type = "conflict"


class PayloadTooLargeError(ApiError):
    """The request body is too large."""

    error_type = "payload_too_large"


class ServiceUnavailableError(ApiError):
    """The service is temporarily unavailable; retry shortly."""

    error_type = "service_unavailable"


class InternalServerError(ApiError):
    """The API failed to answer the request."""

    error_type = "internal_error"


_BY_TYPE: dict[str, type[ApiError]] = {
    cls.error_type: cls
    for cls in (
        InvalidRequestError,
        AuthenticationError,
        PermissionDeniedError,
        NotFoundError,
        ConflictError,
        PayloadTooLargeError,
        ServiceUnavailableError,
        InternalServerError,
    )
}
_BY_STATUS: dict[int, type[ApiError]] = {
    400: InvalidRequestError,
    401: AuthenticationError,
    403: PermissionDeniedError,
    404: NotFoundError,
    409: ConflictError,
    413: PayloadTooLargeError,
    422: InvalidRequestError,
    503: ServiceUnavailableError,
}


def error_from_answer(status_code: int, body: bytes) -> ApiError:
    """The exception for an unsuccessful answer: `{"error": {"type", "message", "field"?}}`
    picks the class by its type; anything else (a proxy's page, say) by the status code."""
    error = _error_object(body)
    if error is not None:
        error_type = str(error.get("type") or "api_error")
        message = str(error.get("message") or f"HTTP {status_code}")
        field = error.get("field")
        cls = _BY_TYPE.get(error_type) or _class_for_status(status_code)
        return cls(
            message,
            status_code=status_code,
            error_type=error_type,
            field=field if isinstance(field, str) else None,
        )
    text = body.decode("utf-8", "replace").strip()
    if len(text) > MAX_QUOTED_BODY_CHARS:
        text = text[:MAX_QUOTED_BODY_CHARS] + "…"
    message = f"HTTP {status_code} from the API" + (f": {text}" if text else "")
    return _class_for_status(status_code)(message, status_code=status_code)


def _class_for_status(status_code: int) -> type[ApiError]:
    if status_code in _BY_STATUS:
        return _BY_STATUS[status_code]
    return InternalServerError if status_code >= 500 else ApiError


def _error_object(body: bytes) -> dict[str, Any] | None:
    try:
        document = json.loads(body)
    except ValueError:
        return None
    error = document.get("error") if isinstance(document, dict) else None
    return error if isinstance(error, dict) else None
