"""The project's own tests, laid out like the packages they test."""
