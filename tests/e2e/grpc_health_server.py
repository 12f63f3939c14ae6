"""A gRPC health server for the e2e tests, run by the test inside a pod's network namespace:

    nsenter --net=/proc/<pause>/ns/net python3 grpc_health_server.py PORT STATUS_FILE

Check answers with the status named in STATUS_FILE (SERVING, NOT_SERVING ...), read on every
call so the test can flip it; "ready" on stdout once listening; ends on SIGTERM.
"""
from __future__ import annotations

import signal
import sys
import threading
from concurrent import futures

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc


class FileHealth(health_pb2_grpc.HealthServicer):
    def __init__(self, path: str):
        self.path = path

    def Check(self, request, context):
        with open(self.path) as f:
            name = f.read().strip()
        return health_pb2.HealthCheckResponse(status=health_pb2.HealthCheckResponse.ServingStatus.Value(name))


def main() -> None:
    port, path = int(sys.argv[1]), sys.argv[2]
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=2))
    health_pb2_grpc.add_HealthServicer_to_server(FileHealth(path), server)
    server.add_insecure_port(f"0.0.0.0:{port}")
    server.start()
    done = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: done.set())
    print("ready", flush=True)
    done.wait()
    server.stop(None)


if __name__ == "__main__":
    main()
