"""Handlers of the public API, one module per tag of the document."""
