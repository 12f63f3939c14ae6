"""The one fake ProbeHost the probe-runner and hook tests share (kubelet's fakeExecProber idea):
a container spec, a FakeClock, a loopback pod IP, a scripted exec and a list of events."""
from __future__ import annotations

from podrun.clock import FakeClock


class FakeHost:
    def __init__(self, **spec):
        self.spec = {"name": "app", **spec}
        self.pod = {"metadata": {"name": "web", "namespace": "default", "uid": "u1"}, "spec": {}}
        self.clock = FakeClock()
        self.events: list[tuple[str, str, str]] = []
        self.exec_calls: list[tuple[list[str], float | None]] = []
        self.exec_result: tuple[int, bytes] | BaseException = (0, b"")

    def pod_ip(self) -> str | None:
        return "127.0.0.1"

    def is_deleting(self) -> bool:
        return False

    async def exec_in_container(self, argv, timeout):
        self.exec_calls.append((argv, timeout))
        if isinstance(self.exec_result, BaseException):
            raise self.exec_result
        return self.exec_result

    def report_event(self, type_, reason, message):
        self.events.append((type_, reason, message))
