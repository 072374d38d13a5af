"""Vendors of an org: the fixtures' own plus those that entered through the Import API."""

from __future__ import annotations

from .fixtures import OrgFixture, Vendor
from .store import Store


def find_vendor(store: Store, org: OrgFixture, vendor_id: str) -> Vendor | None:
    fixed = org.vendors.get(vendor_id)
    if fixed is not None:
        return fixed
    imported = store.get_vendor(org.id, vendor_id)
    if imported is None:
        return None
    return Vendor(imported.id, imported.name, None, frozenset())
