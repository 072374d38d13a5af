"""Tests of mock_server, mostly in-process over ASGI."""
