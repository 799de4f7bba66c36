"""moto's DynamoDB-compatible server, applying one request at a time.

moto's own server (`moto_server`) runs requests in parallel threads without a lock, so two
conditional writes to one item can both pass their condition before either writes; real
DynamoDB checks and writes an item atomically. The store contract tests race conditional
writes on purpose, so this server keeps moto's threaded connections (keep-alive clients do not
block each other) but runs the application under one lock: each request is atomic, as in
DynamoDB. Usage: moto_serial.py HOST PORT
"""

import signal
import sys
import threading

from werkzeug.serving import run_simple

from moto.moto_server.werkzeug_app import (
    DomainDispatcherApplication,
    MotoRequestHandler,
    create_backend_app,
)

LOCK = threading.Lock()
APP = DomainDispatcherApplication(create_backend_app)


def serialized(environ, start_response):
    with LOCK:
        # The body is produced inside the lock too: moto answers with complete bodies.
        return list(APP(environ, start_response))


def main():
    host, port = sys.argv[1], int(sys.argv[2])
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    run_simple(host, port, serialized, threaded=True, request_handler=MotoRequestHandler)


if __name__ == "__main__":
    main()
