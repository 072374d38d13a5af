"""A tiny webhook receiver that verifies Coverbase-Signature; for rehearsing with coverbase-mock.

Run:  python examples/webhook_receiver.py --port 8765 --secret whsec_local_rehearsal_0001
then subscribe it with the API, as you would in production (the mock accepts loopback URLs only):
      curl -X POST http://127.0.0.1:4010/v1/webhooks -H "Authorization: Bearer ak_live_xxx" \
        -H "Content-Type: application/json" -d '{"url": "http://127.0.0.1:8765/coverbase",
        "events": ["WorkflowRun.Created"], "secret": "whsec_local_rehearsal_0001"}'
It prints one line per delivery: VALID or INVALID signature, the event type and ID. It needs only
the Python standard library, so it can be copied into any project as a starting point.
"""

from __future__ import annotations

import argparse
import hashlib
import hmac
import json
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


def signature_is_valid(secret: str, raw_body: bytes, received: str) -> bool:
    """HMAC-SHA256 of the raw body (never of re-serialized JSON), compared in constant time."""
    expected = hmac.new(secret.encode("utf-8"), raw_body, hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected, received)


def make_handler(secret: str) -> type[BaseHTTPRequestHandler]:
    class Receiver(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            raw = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            valid = signature_is_valid(secret, raw, self.headers.get("Coverbase-Signature", ""))
            event = json.loads(raw) if valid else {}
            print(
                "VALID" if valid else "INVALID",
                self.headers.get("X-Coverbase-Event-Type"),
                self.headers.get("X-Coverbase-Event-Id"),
                json.dumps(event.get("data", {}), sort_keys=True),
                flush=True,
            )
            # Answer fast; do the real work elsewhere. 401 on a bad signature is final (not retried).
            self.send_response(204 if valid else 401)
            self.end_headers()

        def log_message(self, format: str, *args: object) -> None:
            return

    return Receiver


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=8765)
    parser.add_argument("--secret", required=True)
    args = parser.parse_args()
    server = ThreadingHTTPServer(("127.0.0.1", args.port), make_handler(args.secret))
    print(f"listening on http://127.0.0.1:{args.port}/coverbase", flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
