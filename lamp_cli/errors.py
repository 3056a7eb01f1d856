"""One error hierarchy, one exit code per class.

Every failure the user can cause or meet is a :class:`LampError`; ``main`` maps it to its exit code
in one place. :mod:`lamp_cli.translate` turns what the backends raise into these errors.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

EXIT_UNEXPECTED = 1
EXIT_USAGE = 2
EXIT_INVALID = 3
EXIT_NOT_FOUND = 4
EXIT_CONFLICT = 5
EXIT_UNREACHABLE = 6
EXIT_DENIED = 7


@dataclass(frozen=True)
class Problem:
    """One thing wrong with an input: where it is and what is wrong."""

    message: str
    file: str | None = None
    line: int | None = None
    column: int | None = None
    field: str | None = None
    #: The Kubernetes object the problem is in, as ``Kind/name``, for rendered manifests.
    object: str | None = None

    def __str__(self) -> str:
        where = ""
        if self.file:
            where = self.file
            if self.line:
                where += f":{self.line}"
                if self.column:
                    where += f":{self.column}"
            where += ": "
        what = f"{self.object}: " if self.object else ""
        what += f"{self.field}: " if self.field else ""
        return f"{where}{what}{self.message}"

    def to_dict(self) -> dict[str, Any]:
        return {
            "file": self.file,
            "line": self.line,
            "column": self.column,
            "field": self.field,
            "object": self.object,
            "message": self.message,
        }


@dataclass(frozen=True)
class MissingFile(Problem):
    """A file the user named that does not exist: not found (exit 4), not invalid."""


class LampError(Exception):
    """Base of every error lamp reports to the user."""

    exit_code = EXIT_UNEXPECTED
    kind = "error"
    #: True only for failures that another attempt may cure: the transport failed, or the
    #: backend answered 429 or 5xx. Never for 4xx answers: they say the same thing again.
    retryable = False

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    @property
    def problems(self) -> list[Problem]:
        return []

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "type": self.kind,
            "exit_code": self.exit_code,
            "message": self.message,
        }
        if self.hint:
            data["hint"] = self.hint
        if self.problems:
            data["problems"] = [p.to_dict() for p in self.problems]
        return data


class UsageError(LampError):
    exit_code = EXIT_USAGE
    kind = "usage"


class InvalidInput(LampError):
    """A value given by the user is not acceptable (exit 3), optionally with located problems."""

    exit_code = EXIT_INVALID
    kind = "invalid"

    def __init__(
        self, message: str, *, problems: list[Problem] | None = None, hint: str | None = None
    ) -> None:
        super().__init__(message, hint=hint)
        self._problems = list(problems or [])

    @property
    def problems(self) -> list[Problem]:
        return self._problems


class SpecInvalid(InvalidInput):
    """One or more problems in spec documents; all of them are reported at once."""

    kind = "invalid_spec"

    def __init__(self, problems: list[Problem], *, hint: str | None = None) -> None:
        count = len(problems)
        noun = "problem" if count == 1 else "problems"
        files = sorted({p.file for p in problems if p.file})
        where = f" in {', '.join(files)}" if files else ""
        super().__init__(f"{count} {noun}{where}", problems=problems, hint=hint)


class NotFound(LampError):
    exit_code = EXIT_NOT_FOUND
    kind = "not_found"


class SpecFileNotFound(NotFound):
    """A spec file that is not there; the other files' problems are reported with it."""

    def __init__(self, problems: list[Problem]) -> None:
        missing = [p.file for p in problems if isinstance(p, MissingFile) and p.file]
        noun = "file" if len(missing) == 1 else "files"
        others = len(problems) - len(missing)
        more = f" (and {others} other problem{'s' if others > 1 else ''})" if others else ""
        super().__init__(
            f"spec {noun} not found: {', '.join(missing)}{more}",
            hint="check the path; `lamp spec init` writes a pair of specs into specs/",
        )
        self._problems = list(problems)

    @property
    def problems(self) -> list[Problem]:
        return self._problems


def spec_error(problems: list[Problem]) -> LampError:
    """The error for spec problems: not found (exit 4) when a file is missing, else invalid."""
    if any(isinstance(p, MissingFile) for p in problems):
        return SpecFileNotFound(problems)
    return SpecInvalid(problems)


class Conflict(LampError):
    exit_code = EXIT_CONFLICT
    kind = "conflict"


class BreakingChanges(Conflict):
    """The app's API changed in ways that break its clients (exit 5 under --fail-on-breaking);
    one problem per change."""

    kind = "breaking"

    def __init__(self, message: str, *, problems: list[Problem], hint: str | None = None) -> None:
        super().__init__(message, hint=hint)
        self._problems = list(problems)

    @property
    def problems(self) -> list[Problem]:
        return self._problems


class BackendUnavailable(LampError):
    exit_code = EXIT_UNREACHABLE
    kind = "unreachable"


class TransientFailure(BackendUnavailable):
    """The backend could not be reached, timed out, or answered 429 or 5xx: the request may or
    may not have been carried out, and another attempt may succeed."""

    retryable = True


class PermissionDenied(LampError):
    exit_code = EXIT_DENIED
    kind = "denied"


class CredentialsMissing(PermissionDenied):
    """No credentials to authenticate with at all (exit 7): nothing was refused, so the next
    step is to configure some, not to ask for a permission."""

    kind = "no_credentials"


class UnexpectedError(LampError):
    exit_code = EXIT_UNEXPECTED
    kind = "unexpected"


_BY_EXIT_CODE: dict[int, type[LampError]] = {
    cls.exit_code: cls
    for cls in (UsageError, InvalidInput, NotFound, Conflict, BackendUnavailable, PermissionDenied)
}


def error_for_exit_code(code: int, message: str, hint: str | None = None) -> LampError:
    """The error of lamp's hierarchy that ends with exit ``code`` (1 for an unknown code)."""
    return _BY_EXIT_CODE.get(code, UnexpectedError)(message, hint=hint)


@dataclass
class Subject:
    """What a backend call was about, so a translated error can name it."""

    what: str
    hint_not_found: str | None = None
    hint_conflict: str | None = None
    url: str | None = None
    extra: dict[str, str] = field(default_factory=dict)
