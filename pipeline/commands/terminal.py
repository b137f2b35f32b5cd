"""The command line's one way out to the terminal: every line the CLI writes goes through here.

`run_main(group, ...)` runs the click group with
- stdout and stderr wrapped so that control characters in anything written (comments, --author,
  --note, file names, ids in error messages) are shown as \\xNN / \\uNNNN, never obeyed (`printable`);
- output errors contained: stdout on a full device (`> /dev/full`) or a closed pipe (`| head`) never
  ends in a traceback. A closed pipe just ends the output (exit as the command would); any other
  write error is reported on stderr in Korean, exit status 2. The command's own files are
  written atomically either way;
- click's usage errors (missing argument, unknown option or command, bad value) in Korean, exit 2;
- warnings of the libraries (matplotlib, openpyxl, …), which name source files, kept off the
  terminal (shown with CARBON_DEBUG=1).
"""
from __future__ import annotations

import errno
import os
import re
import sys

import click

_CONTROL = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u200e\u200f\u202a-\u202e\u2066-\u2069]")


def _escape(match: re.Match) -> str:
    code = ord(match.group())
    return f"\\x{code:02x}" if code < 0x20 else f"\\u{code:04x}"  # \uNNNN stays valid inside JSON output


def printable(text) -> str:
    """`text` with control characters (ESC sequences, bidi overrides, …) shown as \\xNN / \\uNNNN.
    Tabs and newlines are kept."""
    return _CONTROL.sub(_escape, "" if text is None else str(text))


class _Guarded:
    """A text stream that escapes control characters and never raises on a failed write."""

    def __init__(self, stream, name: str):
        self._stream = stream
        self._name = name
        self.failure: OSError | None = None

    def write(self, text):
        if not isinstance(text, str):
            raise TypeError("text stream")  # click probes text/binary with write(b"")
        if self.failure is None:
            try:
                return self._stream.write(printable(text))
            except OSError as exc:
                self._fail(exc)
        return len(text)

    def flush(self) -> None:
        if self.failure is None:
            try:
                self._stream.flush()
            except OSError as exc:
                self._fail(exc)

    def _fail(self, exc: OSError) -> None:
        """Stop writing; point the descriptor at /dev/null so the interpreter's final flush cannot fail."""
        self.failure = exc
        try:
            fd = self._stream.fileno()
            null = os.open(os.devnull, os.O_WRONLY)
            os.dup2(null, fd)
            os.close(null)
        except (OSError, ValueError, AttributeError):
            pass

    def isatty(self) -> bool:
        try:
            return self._stream.isatty()
        except (OSError, ValueError):
            return False

    def __getattr__(self, name):  # encoding, errors, fileno, buffer, … of the wrapped stream
        return getattr(self._stream, name)


def raw_stderr():
    """The terminal's stderr itself, for a progress bar that draws with \\r and ESC sequences."""
    stream = sys.stderr
    return stream._stream if isinstance(stream, _Guarded) else stream


# ------------------------------------------------------------------------- usage errors in Korean
_MESSAGES = (
    (r"No such option:? '?([^'\s]+)'?\.?", "'{0}' 옵션은 없습니다"),
    (r"No such command '([^']*)'\.?", "'{0}' 명령은 없습니다"),
    (r"Option '([^']+)' requires an argument\.", "'{0}' 옵션에는 값이 필요합니다"),
    (r"Option '([^']+)' requires (\d+) arguments\.", "'{0}' 옵션에는 값 {1}개가 필요합니다"),
    (r"Option '([^']+)' does not take a value\.", "'{0}' 옵션은 값을 받지 않습니다"),
    (r"Got unexpected extra arguments? \((.*)\)", "필요 없는 인자가 더 있습니다: {0}"),
    (r"Missing command\.", "명령을 주세요"),
    (r"Argument '([^']+)' takes (\d+) values\.", "인자 {0}에는 값 {1}개가 필요합니다"),
)
_VALUES = (
    (r"'(.*)' is not one of (.*)\.$", "'{0}'은(는) 쓸 수 없습니다. 가능한 값: {1}"),
    (r"'(.*)' is not a valid integer\.", "'{0}'은(는) 정수가 아닙니다"),
    (r"'(.*)' is not a valid float\.", "'{0}'은(는) 숫자가 아닙니다"),
    (r"'(.*)' is not a valid boolean\.", "'{0}'은(는) 예/아니오 값이 아닙니다"),
    (r"(.*) is not in the range (.*)\.", "{0}은(는) 허용 범위({1}) 밖입니다"),
    (r"File '(.*)' is a directory\.", "'{0}'은(는) 폴더입니다. 파일을 주세요"),
    (r"(?:File|Path|Directory) '(.*)' does not exist\.", "'{0}'이(가) 없습니다"),
)


def _translate(text: str, table) -> str:
    for pattern, korean in table:
        match = re.search(pattern, text)
        if match:
            return korean.format(*match.groups())
    return text


def _param_name(param) -> str:
    if param is None:
        return ""
    if isinstance(param, click.Argument):
        return param.human_readable_name
    return "/".join(param.opts)


def korean_usage_message(exc: click.UsageError) -> str:
    """The Korean text of one of click's usage errors."""
    if isinstance(exc, click.MissingParameter):
        what = "인자" if isinstance(exc.param, click.Argument) else "옵션"
        return f"필수 {what} {_param_name(exc.param)}이(가) 없습니다"
    possibilities = getattr(exc, "possibilities", None)
    if isinstance(exc, click.BadParameter) and not isinstance(exc, click.MissingParameter):
        name = _param_name(exc.param) or exc.param_hint or "값"
        return f"{name}의 값이 잘못되었습니다: {_translate(exc.message, _VALUES)}"
    message = _translate(exc.message, _MESSAGES)
    if possibilities:
        message += f" (혹시: {', '.join(possibilities)})"
    return message


def _show_usage_error(exc: click.UsageError) -> None:
    if isinstance(exc, click.exceptions.NoArgsIsHelpError):
        exc.show()  # no command given: the help, as click shows it
        return
    if exc.ctx is not None:
        usage = exc.ctx.get_usage().replace("Usage:", "사용법:", 1)
        click.echo(usage, err=True)
        click.echo(f"도움말: {exc.ctx.command_path} --help", err=True)
    click.echo(f"오류: {korean_usage_message(exc)}", err=True)


# ------------------------------------------------------------------------- the run
def _quiet_warnings() -> None:
    if not (os.environ.get("CARBON_DEBUG") or "").strip():
        import warnings

        warnings.simplefilter("ignore")  # library warnings name source files; the documents are checked by tests


def run_main(group: click.Group, args, prog_name, complete_var, standalone_mode, extra) -> object:
    """click's main with the guarded streams, Korean usage errors and contained output errors."""
    if not standalone_mode:  # a caller that handles click's exceptions itself
        return click.Group.main(group, args, prog_name, complete_var, standalone_mode=False, **extra)
    out, err = _Guarded(sys.stdout, "stdout"), _Guarded(sys.stderr, "stderr")
    saved = sys.stdout, sys.stderr
    sys.stdout, sys.stderr = out, err
    code = 0
    import warnings

    with warnings.catch_warnings():
        _quiet_warnings()
        code = _run(group, args, prog_name, complete_var, extra, out, err, saved)
    sys.exit(code)


def _run(group, args, prog_name, complete_var, extra, out: _Guarded, err: _Guarded, saved) -> int:
    code = 0
    try:
        try:
            result = click.Group.main(group, args, prog_name, complete_var, standalone_mode=False, **extra)
            code = result if isinstance(result, int) else 0
        except click.UsageError as exc:
            _show_usage_error(exc)
            code = exc.exit_code
        except click.ClickException as exc:
            exc.show()
            code = exc.exit_code
        except click.exceptions.Abort:
            click.echo("중단했습니다", err=True)
            code = 1
        except SystemExit as exc:
            code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
        out.flush()
        if out.failure is not None and out.failure.errno != errno.EPIPE:
            from pipeline.errors import os_reason

            reason = os_reason(out.failure)
            click.echo(f"오류: 출력(stdout)을 쓸 수 없습니다: {reason}. 출력이 중간에 끊겼습니다; 파일로 쓰는 결과는 "
                       "원자적으로 써서 반쯤 쓴 파일은 없습니다", err=True)
            code = code or 2
    finally:
        err.flush()
        sys.stdout, sys.stderr = saved
    return code
