"""Tests of the contract suite: its CLI, its verdicts on planted faults, in-process runs."""
