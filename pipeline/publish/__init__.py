"""From a profile to files: build the context (profile → stages), render the documents, store the
revision, publish out/<id>/."""
