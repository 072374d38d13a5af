"""Tools for spec authors: reference docs, lint and diff of the OpenAPI document."""
