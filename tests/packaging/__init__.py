"""Tests of building and installing the package: the wheel, outside the checkout."""
