"""Carbon-neutrality consulting pipeline: company profiles → Korean Word drafts."""

__version__ = "0.1.0"
