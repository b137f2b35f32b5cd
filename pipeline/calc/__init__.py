"""Domain calculations used by the stages: pure functions of profile data and content."""
