"""Trigger conditions: the small language fixtures use to bind workflows to object events."""

from __future__ import annotations

from typing import Any

import pytest

from mock_server.triggers import matches

VENDOR = {"name": "Acme", "data_types": ["customer_pii", "support_transcripts"], "tier": "2", "score": 0.72}


@pytest.mark.parametrize(
    ("condition", "expected"),
    [
        (None, True),
        ({"field": "name", "op": "equals", "value": "Acme"}, True),
        ({"field": "name", "op": "not_equals", "value": "Acme"}, False),
        ({"field": "tier", "op": "in", "value": ["1", "2"]}, True),
        ({"field": "tier", "op": "in", "value": ["1"]}, False),
        ({"field": "data_types", "op": "contains_any", "value": ["patient_phi", "customer_pii"]}, True),
        ({"field": "data_types", "op": "contains_any", "value": ["patient_phi"]}, False),
        ({"field": "data_types", "op": "contains_all", "value": ["customer_pii", "support_transcripts"]}, True),
        ({"field": "data_types", "op": "contains_all", "value": ["customer_pii", "patient_phi"]}, False),
        ({"field": "website", "op": "exists"}, False),
        ({"field": "name", "op": "exists"}, True),
        ({"field": "website", "op": "exists", "value": False}, True),
        ({"field": "score", "op": "gte", "value": 0.7}, True),
        ({"field": "score", "op": "lte", "value": 0.7}, False),
        ({"field": "name", "op": "gte", "value": 1}, False),
        ({"all": [{"field": "name", "op": "exists"}, {"field": "tier", "op": "equals", "value": "2"}]}, True),
        ({"any": [{"field": "tier", "op": "equals", "value": "9"}, {"field": "name", "op": "exists"}]}, True),
        ({"not": {"field": "name", "op": "exists"}}, False),
        ({"all": []}, True),
        ({"any": []}, False),
    ],
)
def test_conditions(condition: dict[str, Any] | None, expected: bool) -> None:
    assert matches(condition, VENDOR) is expected
