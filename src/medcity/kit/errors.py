"""Errors every layer raises; the FHIR face turns them into OperationOutcome with the right status.

An error is worded once for both faces: its text is an ``N_``-marked English msgid with ``%(name)s`` fields and
the values that fill them (``raise Unprocessable(N_("Bed Location/%(bed)s is occupied"), bed=bed)``). The FHIR
face sends the English ``diagnostics`` (for the engineers reading an OperationOutcome); a page shows
``error.say(lang)``, the same refusal in the reader's language.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from medcity.kit.i18n import SOURCE_LANGUAGE, say


@dataclass
class Issue:
    """One OperationOutcome.issue: FHIR `severity`, `code` (issue-type), human text, optional FHIRPath location."""

    code: str
    diagnostics: str
    severity: str = "error"
    expression: list[str] = field(default_factory=list)


class MedcityError(Exception):
    """Base for every error that has a meaning for the caller (never a 500)."""

    status: int = 400
    issue_code: str = "invalid"

    def __init__(
        self, text: str, /, *, issues: list[Issue] | None = None, status: int | None = None, **values: object
    ) -> None:
        """`text` % `values` is the English diagnostics; `issues` replace the single issue it would make."""
        diagnostics = say(text, values, SOURCE_LANGUAGE)
        super().__init__(diagnostics)
        self.text = text
        self.values = values
        self.diagnostics = diagnostics
        if status is not None:
            self.status = status
        self.issues = issues or [Issue(code=self.issue_code, diagnostics=diagnostics)]

    def say(self, lang: str) -> str:
        """The error in `lang`, for a page; values that are named things or errors are said in `lang` too."""
        return say(self.text, self.values, lang)


class InvalidRequest(MedcityError):
    status = 400
    issue_code = "invalid"


class Unprocessable(MedcityError):
    """Well-formed but breaks a rule (FHIR 422)."""

    status = 422
    issue_code = "processing"


class NotFound(MedcityError):
    status = 404
    issue_code = "not-found"


class Gone(MedcityError):
    status = 410
    issue_code = "deleted"


class Conflict(MedcityError):
    status = 409
    issue_code = "conflict"


class PreconditionFailed(MedcityError):
    status = 412
    issue_code = "conflict"


class NotSupported(MedcityError):
    status = 400
    issue_code = "not-supported"


class MethodNotAllowed(MedcityError):
    status = 405
    issue_code = "not-supported"


class TooLarge(MedcityError):
    status = 413
    issue_code = "too-costly"


class UnsupportedMediaType(MedcityError):
    status = 415
    issue_code = "not-supported"


class Unauthenticated(MedcityError):
    status = 401
    issue_code = "login"


class Forbidden(MedcityError):
    status = 403
    issue_code = "forbidden"
