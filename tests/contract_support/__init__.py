"""Helpers of the contract-suite tests: mock subprocesses and suite runs."""
