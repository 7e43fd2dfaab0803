"""A webhook receiver for the DME delivery tests, run as its own process:
``python -m tests.dme_webhook_receiver PORT LOG [FAILURES]``.

Every POST is appended to LOG as one JSON line (its Idempotency-Key, order key, status answered) and
fsynced before answering, so the log survives whatever happens to the sender. The first FAILURES
requests of each key are answered 503 (to exercise retries). A key seen before is acknowledged (200)
without being accepted again — the receiver side of idempotent delivery.
"""

from __future__ import annotations

import json
import os
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from threading import Lock

lock = Lock()
attempts: dict[str, int] = {}
accepted: set[str] = set()


def main() -> None:
    port, log_path = int(sys.argv[1]), sys.argv[2]
    failures = int(sys.argv[3]) if len(sys.argv) > 3 else 0

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
            key = self.headers.get("Idempotency-Key", "")
            with lock:
                attempts[key] = attempts.get(key, 0) + 1
                if attempts[key] <= failures:
                    status, outcome = 503, "failed"
                elif key in accepted:
                    status, outcome = 200, "repeat"
                else:
                    accepted.add(key)
                    status, outcome = 200, "accepted"
                with open(log_path, "a") as log:
                    log.write(json.dumps({"key": key, "order": json.loads(body).get("key"), "outcome": outcome}) + "\n")
                    log.flush()
                    os.fsync(log.fileno())
            self.send_response(status)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args: object) -> None:
            pass

    ThreadingHTTPServer(("127.0.0.1", port), Handler).serve_forever()


if __name__ == "__main__":
    main()
