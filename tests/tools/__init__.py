"""Tests of the developer tools: the throwaway PostgreSQL cluster and make mock-replicas."""
