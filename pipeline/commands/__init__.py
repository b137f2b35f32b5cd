"""Command line: `python -m pipeline <command>`.

Heavy libraries (docxtpl, matplotlib, python-redlines) are imported inside the commands that need
them, so `--help` and `validate` start fast. Every user-facing error is a PipelineError: printed
in Korean, exit status 2, no traceback.
"""
from __future__ import annotations

import click


class _Main(click.Group):
    """The group whose output goes through commands/terminal.py (escaped, Korean usage errors, no
    traceback on a full or closed stdout)."""

    def main(self, args=None, prog_name=None, complete_var=None, standalone_mode=True, **extra):
        from pipeline.commands.terminal import run_main

        return run_main(self, args, prog_name, complete_var, standalone_mode, extra)


@click.group(cls=_Main, context_settings={"help_option_names": ["-h", "--help"]})
def main() -> None:
    """탄소중립 컨설팅 문서 파이프라인 (company profiles → Korean Word drafts)."""


def _register() -> None:
    """Each group of commands is a module of its own; they import heavy libraries inside the commands."""
    from pipeline.commands import batch, cbam, plan, preview, profiles, revisions, selection, status
    from pipeline.commands import intake
    from pipeline.commands import report
    from pipeline.commands import program_report
    from pipeline.commands import followup
    from pipeline.commands import hwpx
    from pipeline.commands import forms

    for command in (profiles.validate, profiles.context, plan.plan, plan.pdf, batch.all_companies, selection.select,
                    revisions.feedback, revisions.feedback_list, revisions.feedback_resolve, revisions.diff,
                    revisions.history, status.status, revisions.final, cbam.cbam_template, preview.preview,
                    intake.intake_form,
                    intake.intake,
                    report.report,
                    program_report.program_report,
                    followup.followup_apply, followup.followup_result, followup.followup_actuals,
                    followup.followup_list, followup.monitor, followup.calendar,
                    hwpx.hwpx, forms.fill, forms.form_convert,
                    selection.applications_import, selection.applications_scores):
        main.add_command(command)


_register()

if __name__ == "__main__":
    main()
