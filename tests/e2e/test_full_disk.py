"""A real full disk under the `--state` file: documented 503s, nothing acknowledged lost, exactly-once retries,
recovery without a restart (on a tmpfs mounted by the test; skipped, with the reason, where mounting is impossible)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx

from mock_server import spec
from tests.support.api import ORG1_KEY, auth
from tests.support.reliability import MockProcess
from tests.support.tmpfs import fill, small_filesystem

RUN_PATH = "/v1/workflows/quarterly-privacy-sweep/run"
CATALOG = spec.load_document()["x-error-catalog"]["codes"]["storage_unavailable"]
UNAVAILABLE = {"detail": {"code": "storage_unavailable", "message": CATALOG["message"]}}
PAD = "x" * 8192  # a run needs new pages: it cannot fit in space the full disk still has


def _post(client: httpx.Client, key: str, i: int) -> httpx.Response:
    return client.post(RUN_PATH, headers=auth(ORG1_KEY, **{"Idempotency-Key": key}), json={"input": {"i": i, "p": PAD}})


def _total(client: httpx.Client) -> int:
    total: int = client.get("/v1/workflows/runs?limit=1", headers=auth(ORG1_KEY)).json()["total"]
    return total


def scenario(tmp_path: Path, writes_while_full: int) -> dict[str, Any]:
    """The figures of one run: every request sent with one kept-alive connection."""
    figures = {"requests": 0, "500s": 0, "transport_errors": 0, "503s": 0, "acknowledged": 0}
    # Larger than SQLite's WAL before its automatic checkpoint (1000 pages, about 4 MB): on a smaller disk the
    # WAL alone could fill it again.
    with small_filesystem(tmp_path / "disk", "32m") as disk:
        server = MockProcess("--state", str(disk / "state.db"), log=tmp_path / "mock.log")
        try:
            server.wait_ready()
            acked: dict[str, bytes] = {}
            unacked: list[str] = []
            with httpx.Client(base_url=server.base, timeout=10) as client:
                seed_total = _total(client)

                def send(key: str, i: int) -> httpx.Response | None:
                    figures["requests"] += 1
                    try:
                        response = _post(client, key, i)
                    except httpx.TransportError:
                        figures["transport_errors"] += 1
                        return None
                    figures["500s"] += response.status_code == 500
                    return response

                for i in range(5):
                    response = send(f"before-{i}", i)
                    assert response is not None and response.status_code == 201
                    acked[f"before-{i}"] = response.content
                filler = fill(disk)
                for i in range(writes_while_full):
                    key = f"full-{i}"
                    response = send(key, i)
                    if response is None:
                        unacked.append(key)
                    elif response.status_code == 201:
                        acked[key] = response.content
                    else:
                        assert response.status_code == 503, response.text
                        assert response.json() == UNAVAILABLE
                        assert response.headers["retry-after"] == "1"
                        figures["503s"] += 1
                        unacked.append(key)
                    figures["requests"] += 1
                    assert client.get("/v1/utils/authtest", headers=auth(ORG1_KEY)).status_code == 200
                assert figures["503s"] > 0, "the disk was full: some writes must have been refused"
                filler.unlink()  # space returns; the mock is not restarted
                for key in unacked:
                    response = send(key, int(key.split("-")[1]))
                    assert response is not None and response.status_code == 201, response and response.text
                    acked[key] = response.content
                replays = {key: _post(client, key, 0).content for key in acked}
                figures["requests"] += len(replays)
                assert replays == acked, "every key replays its one stored answer"
                run_ids = {httpx.Response(201, content=body).json()["workflow_run_id"] for body in acked.values()}
                figures["acknowledged"] = len(acked)
                figures["duplicates"] = _total(client) - seed_total - len(run_ids)
            server.kill()  # acknowledged means durable: SIGKILL and restart on the same file
            again = MockProcess("--state", str(disk / "state.db"), log=tmp_path / "mock2.log")
            try:
                again.wait_ready()
                with httpx.Client(base_url=again.base, timeout=10) as client:
                    lost = [
                        r
                        for r in run_ids
                        if client.get(f"/v1/workflows/runs/{r}", headers=auth(ORG1_KEY)).status_code != 200
                    ]
                    figures["requests"] += len(run_ids)
                    figures["lost"] = len(lost)
            finally:
                again.stop()
        finally:
            server.stop()
    assert "Traceback" not in server.output(), server.output()
    return figures


def test_a_full_disk_is_503_loses_nothing_and_recovers_without_restart(tmp_path: Path) -> None:
    figures = scenario(tmp_path, writes_while_full=40)
    print("full disk:", figures)
    assert figures["500s"] == 0
    assert figures["transport_errors"] == 0, "kept-alive connections are never reset"
    assert figures["lost"] == 0
    assert figures["duplicates"] == 0
