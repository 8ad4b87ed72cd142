"""The exception tree every layer raises; the API maps each to its status code and error type.

PrompthaError
├── InvalidRequestError      400 invalid_request (bad input; `field` names the culprit)
├── AuthenticationError      401 authentication_failed
├── PermissionDeniedError    403 permission_denied
├── NotFoundError            404 not_found (also for another account's objects)
├── ConflictError            409 conflict
│   └── ConstraintViolationError  409 conflict (a row the request refers to changed under it)
├── PayloadTooLargeError     413 payload_too_large
└── ServiceUnavailableError  503 service_unavailable (database unreachable, shutting down)
    └── SecretUnavailableError  503 secret_unavailable (a stored secret does not decrypt)
"""

from __future__ import annotations


class PrompthaError(Exception):
    """Something went wrong."""

    status_code: int = 500
    error_type: str = "internal_error"

    def __init__(self, message: str | None = None, *, field: str | None = None) -> None:
        self.message = message or (self.__doc__ or "").strip()
        self.field = field
        super().__init__(self.message)


class InvalidRequestError(PrompthaError):
    """The request is invalid."""

    status_code = 400
    error_type = "invalid_request"


class AuthenticationError(PrompthaError):
    """A valid API key is required: send `Authorization: Bearer <key>`."""

    status_code = 401
    error_type = "authentication_failed"


class PermissionDeniedError(PrompthaError):
    """This API key may not perform this action."""

    status_code = 403
    error_type = "permission_denied"


class NotFoundError(PrompthaError):
    """No such object."""

    status_code = 404
    error_type = "not_found"


class ConflictError(PrompthaError):
    """The request conflicts with the current state."""

    status_code = 409
    error_type = "conflict"


class ConstraintViolationError(ConflictError):
    """The request conflicts with a concurrent change; retry it."""


class PayloadTooLargeError(PrompthaError):
    """The request body is too large."""

    status_code = 413
    error_type = "payload_too_large"


class ServiceUnavailableError(PrompthaError):
    """The service is temporarily unavailable; retry shortly."""

    status_code = 503
    error_type = "service_unavailable"


class SecretUnavailableError(ServiceUnavailableError):
    """The webhook's signing secret cannot be decrypted with this server's encryption keys: an
    operator must restore the key it was encrypted with (the server's log names it)."""

    error_type = "secret_unavailable"
