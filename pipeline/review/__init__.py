"""Reading what comes back: returned drafts (comments, tracked changes) and redlines between revisions."""
