"""coverbase-mock: a stateful reference implementation of the Coverbase API, served from its OpenAPI document."""

__version__ = "0.1.0"
