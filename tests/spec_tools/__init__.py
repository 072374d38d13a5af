"""Tests of the spec authors' tools: lint, docs, diff."""
