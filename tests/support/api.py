"""Test helpers shared by every folder: fixture keys and IDs, and a synchronous ASGI client."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable
from typing import Any, TypeVar

import httpx

ORG1_KEY = "ak_live_xxx"
ORG2_KEY = "ak_live_initech_4Qx7Zr2Lm9Tp1Vw8Ky3Hs6Bn0Dc5Fg"
ORG1_VENDOR = "cbvndr_e448ba62882143f3ba0c140bb2e30162"
ORG1_CONTROL_SET = "cbctst_9f4a1c0d7b2e4e9f8c1d2b3a4e5f6071"
ORG1_SERVICE = "cbsvc_3c2b1a098f7e6d5c4b3a2918374655ab"
ORG1_USER = "cbuser_a1b2c3d4e5f6a7b8c9d0e1f2a3b4c5d6"
ORG2_VENDOR = "cbvndr_1f2e3d4c5b6a79880716a5b4c3d2e1f0"
ORG2_CONTROL_SET = "cbctst_6e5d4c3b2a1f0e9d8c7b6a5f4e3d2c1b"
DOC_ASSESSMENT = "cbqsrw_2d5e8f1a4b7c0d3e6f9a2b5c8d1e4f7a"
DOC_RUN = "cbwr_a8f2c19e3d4b5e6f7a8b9c0d1e2f3a4b"


def auth(key: str = ORG1_KEY, **extra: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}", **extra}


T = TypeVar("T")


class Api:
    """A synchronous client speaking ASGI to the app in this thread, so freezegun reaches the handlers."""

    def __init__(self, app: Any) -> None:
        self.loop = asyncio.new_event_loop()
        self.client = httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://mock.test")

    def run(self, awaitable: Awaitable[T]) -> T:
        return self.loop.run_until_complete(awaitable)

    def request(self, method: str, url: str, **kwargs: Any) -> httpx.Response:
        return self.run(self.client.request(method, url, **kwargs))

    def get(self, url: str, **kwargs: Any) -> httpx.Response:
        return self.request("GET", url, **kwargs)

    def post(self, url: str, **kwargs: Any) -> httpx.Response:
        return self.request("POST", url, **kwargs)

    def delete(self, url: str, **kwargs: Any) -> httpx.Response:
        return self.request("DELETE", url, **kwargs)

    def close(self) -> None:
        self.run(self.client.aclose())
        self.loop.close()
