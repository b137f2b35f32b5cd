"""Every error the pipeline reports to a user.

All of them derive from PipelineError, a click.ClickException with exit status 2, so the CLI
prints the message (never a traceback) and stops. Messages are written for the consultant who
edits the YAML or the content: what is wrong, where, and what is expected.
"""
from __future__ import annotations

from dataclasses import dataclass

import click


class PipelineError(click.ClickException):
    """Base class: a problem the user can fix; printed as '오류: …', exit status 2."""

    exit_code = 2

    def format_message(self) -> str:
        return self.message

    def show(self, file=None) -> None:  # click's default prefixes "Error:"
        click.echo(f"오류: {self.format_message()}", err=True, file=file)


@dataclass(frozen=True)
class Problem:
    """One problem in one input file: file, line (1-based, None if unknown), field path, message."""

    file: str
    line: int | None
    field: str
    message: str

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}" if self.line else self.file
        field = f" [{self.field}]" if self.field else ""
        return f"{where}{field} {self.message}"


_OS_REASONS = {"ENOSPC": "디스크 공간이 없습니다", "EDQUOT": "디스크 사용 한도를 넘었습니다",
               "EACCES": "권한이 없습니다", "EPERM": "권한이 없습니다", "EROFS": "읽기 전용 파일 시스템입니다",
               "ENOENT": "파일이나 폴더가 없습니다", "ENOTDIR": "폴더가 아닙니다", "EISDIR": "폴더입니다",
               "EIO": "입출력 오류입니다", "EPIPE": "출력을 받는 쪽이 닫혔습니다", "ENAMETOOLONG": "경로가 너무 깁니다"}


def os_reason(exc: OSError) -> str:
    """An OSError in Korean for a message (the system's own text kept beside it)."""
    import errno

    name = errno.errorcode.get(exc.errno or 0, "")
    system = exc.strerror or str(exc)
    return f"{_OS_REASONS[name]} ({system})" if name in _OS_REASONS else system


class ProfileError(PipelineError):
    """A company profile is unreadable or invalid; carries every problem found in one run."""

    def __init__(self, problems: list[Problem]):
        self.problems = list(problems)
        count = len(self.problems)
        lines = "\n".join(f"  - {p}" for p in self.problems)
        super().__init__(f"프로필 오류 {count}건:\n{lines}")


class IntakeError(PipelineError):
    """A returned 자료요청서 cannot be read, or its data does not make a valid profile; lists every
    problem with sheet!cell, label and what is expected. Nothing was written."""

    def __init__(self, message: str, problems: list[Problem] | None = None):
        self.problems = list(problems or [])
        lines = "".join(f"\n  - {p}" for p in self.problems)
        super().__init__(f"{message}{lines}")


class ApplicationError(PipelineError):
    """Applicant files for the selection (applications/<year>/) are unreadable or invalid; lists every problem."""

    def __init__(self, problems: list[Problem]):
        self.problems = list(problems)
        lines = "\n".join(f"  - {p}" for p in self.problems)
        super().__init__(f"신청서 오류 {len(self.problems)}건:\n{lines}")


class ApplicationImportError(PipelineError):
    """An online-form export (CSV or .xlsx) cannot become applications/<year>/: lists every problem
    with the row (as in the file, header = row 1), the column header and what is expected. Nothing
    was written."""

    def __init__(self, message: str, problems: list[Problem] | None = None):
        self.problems = list(problems or [])
        lines = "".join(f"\n  - {p}" for p in self.problems)
        super().__init__(f"{message}{lines}")


class PendingScoresError(PipelineError):
    """`select` was run before the committee's scores were in: lists, per applicant, the items that
    still need them. Nothing was written (no ranking that could pass for the result)."""


class UnknownCompanyError(PipelineError):
    """The company id names no profile in companies/, or is not a valid id."""


class ContentError(PipelineError):
    """A file in content/ (factors, rules, programs, section texts) is missing or malformed."""


class CalculationError(PipelineError):
    """Activity data cannot be turned into a result (unknown unit, fuel or factor)."""


class RenderError(PipelineError):
    """A Word template failed to render (names the template and the variable)."""


class ConversionError(PipelineError):
    """LibreOffice could not convert a document to PDF."""


class RevisionError(PipelineError):
    """The revision store refused an operation (final version, unknown revision, …)."""


class FeedbackError(PipelineError):
    """A returned draft is not a readable, safe .docx."""


class ExportError(PipelineError):
    """An outside format (the CBAM communication workbook) cannot be filled or checked from the context."""


class StoreError(PipelineError):
    """A stored file (a log, the final marker, a feedback import, out/<id>/) is damaged or cannot be
    written; the message says what was kept and that nothing was half-changed."""


class OutputError(PipelineError):
    """An output path the user gave (`diff --out`, `status --html`, …) is protected (the revision
    store, a profile, content/, the project's code) or cannot be written; nothing was written."""


class FollowupError(PipelineError):
    """A follow-up record (application, result, yearly actuals) or a monitoring request is invalid:
    says which option or file:line, field and what is expected. Nothing was recorded."""

    def __init__(self, message: str, problems: list[Problem] | None = None):
        self.problems = list(problems or [])
        lines = "".join(f"\n  - {p}" for p in self.problems)
        super().__init__(f"{message}{lines}")


class FormError(PipelineError):
    """An official form (content/forms/<program>/<year>/), its map or its filling is refused: the
    message names the file, the map entry or the part and element; nothing was written."""
