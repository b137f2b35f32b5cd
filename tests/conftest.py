"""Hardening figures (issue 8 §6): tests marked `hardening` are counted and summed up at the end.

Mark a test module with `pytestmark = pytest.mark.hardening`; each test (each parametrized case) is
one case. The terminal summary prints "hardening: N cases tried, M passed".
"""

_FIGURES = {"tried": 0, "passed": 0, "known": 0}


def pytest_configure(config):
    config.addinivalue_line("markers", "hardening: bad input, hostile files, crashes and concurrent runs (issue 8)")


def pytest_runtest_logreport(report):
    if "hardening" not in report.keywords:
        return
    if report.when == "call" or (report.when == "setup" and not report.passed):
        _FIGURES["tried"] += 1
        _FIGURES["passed"] += report.passed
        _FIGURES["known"] += hasattr(report, "wasxfail") and report.skipped


def pytest_terminal_summary(terminalreporter):
    if _FIGURES["tried"]:
        known = f" ({_FIGURES['known']} known bugs marked xfail)" if _FIGURES["known"] else ""
        terminalreporter.write_line(f"hardening: {_FIGURES['tried']} cases tried, {_FIGURES['passed']} passed{known}")
