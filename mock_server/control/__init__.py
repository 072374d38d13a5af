"""The mock's own control plane under /_mock/ (described by openapi/mock-control.yaml)."""
