"""OAuth 2.0 errors (RFC 6749 §5.2): a code the client's library understands, never an OperationOutcome."""

from __future__ import annotations


class OAuthError(Exception):
    """``error`` is the RFC 6749 code; ``status`` 400, or 401 when the client failed to authenticate."""

    def __init__(self, error: str, description: str, *, status: int = 400) -> None:
        super().__init__(description)
        self.error = error
        self.description = description
        self.status = status

    def body(self) -> dict[str, str]:
        return {"error": self.error, "error_description": self.description}


def invalid_client(description: str) -> OAuthError:
    return OAuthError("invalid_client", description, status=401)


def invalid_grant(description: str) -> OAuthError:
    return OAuthError("invalid_grant", description)


def invalid_request(description: str) -> OAuthError:
    return OAuthError("invalid_request", description)
