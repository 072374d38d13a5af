"""PostgreSQL for the tests: one throwaway cluster per test session (per xdist worker), a fresh schema per test."""

from __future__ import annotations

import itertools
import os
from collections.abc import Iterator
from urllib.parse import quote

import psycopg
import pytest

from tools.postgres import REQUIRE_ENV, Cluster, ClusterError, required, server_bindir

_names = itertools.count(1)


def start_cluster() -> Iterator[Cluster]:
    """A running cluster, or a skip with the reason - except where PostgreSQL is required (CI), where it fails."""
    if server_bindir() is None:
        reason = "PostgreSQL server binaries (initdb, pg_ctl) not found: apt-get install postgresql"
        if required():
            pytest.fail(f"{reason} ({REQUIRE_ENV} is set: PostgreSQL tests must run here)")
        pytest.skip(reason)
    try:
        running = Cluster().start()
    except ClusterError as exc:
        if required():
            raise
        pytest.skip(f"PostgreSQL cluster could not start: {exc}")
    try:
        yield running
    finally:
        running.stop()


def fresh_schema(cluster: Cluster, prefix: str = "t") -> str:
    """A new empty schema in the cluster's database; returns a URL whose connections use only that schema."""
    name = f"{prefix}_{os.getpid()}_{next(_names)}"
    with psycopg.connect(cluster.url(), autocommit=True) as connection:
        connection.execute(f"CREATE SCHEMA {name}")
    return cluster.url() + "?options=" + quote(f"-csearch_path={name}")
