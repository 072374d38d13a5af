"""Contract test suite: checks any implementation of the Coverbase API against openapi/coverbase.yaml."""
