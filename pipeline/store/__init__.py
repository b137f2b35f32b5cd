"""What the pipeline keeps: atomic writes, the revision store, the feedback store and caches."""
