"""End-to-end tests over real HTTP: the mock as a subprocess."""
