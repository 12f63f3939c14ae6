"""A throw-away pod for kernel tests: sandbox + containers launched for real, all cleaned up."""
from __future__ import annotations

import os
import signal
from types import SimpleNamespace

from podrun.kernel import procs
from podrun.runtime import plan as P
from podrun.runtime.launcher import Launched, launch
from podrun.runtime.sandbox import start_sandbox, stop_sandbox


class PodEnv:
    def __init__(self, root: str, pause: str, rootfs: str, pod: dict):
        self.root, self.pause, self.pod = root, pause, pod
        self.image = SimpleNamespace(rootfs=rootfs, config={"Cmd": ["sh"]})
        self.launched: list[Launched] = []
        self.plans: dict[int, P.LaunchPlan] = {}
        self.sandbox = None

    async def __aenter__(self) -> "PodEnv":
        self.sandbox = await start_sandbox(self.pod, os.path.join(self.root, "pod"), self.pause)
        return self

    async def __aexit__(self, *exc) -> None:
        for l in self.launched:
            procs.send_signal(l.ref, signal.SIGKILL)
            await procs.wait_exit(l.pid)
            for fd in (l.stdout_fd, l.stderr_fd, l.stdin_fd):
                if fd is not None:
                    try:
                        os.close(fd)
                    except OSError:
                        pass
        await stop_sandbox(self.sandbox)

    def plan(self, container: dict, volumes: dict[str, str] | None = None, run: int = 0) -> P.LaunchPlan:
        inst = os.path.join(self.root, "ctr", container["name"], str(run))
        P.prepare_instance_dir(inst)
        return P.container_plan(self.pod, container, self.sandbox, self.image, inst, volumes or {})

    async def start(self, container: dict, volumes: dict[str, str] | None = None) -> Launched:
        plan = self.plan(container, volumes)
        launched = await launch(plan)
        self.launched.append(launched)
        self.plans[launched.pid] = plan
        return launched

    async def run(self, container: dict, volumes: dict[str, str] | None = None) -> tuple[int, str, str]:
        """Start, wait for the exit, return (exit code, stdout, stderr)."""
        launched = await self.start(container, volumes)
        status = await procs.wait_exit(launched.pid)
        return status.exit_code, _drain(launched.stdout_fd), _drain(launched.stderr_fd)


def _drain(fd: int | None) -> str:
    if fd is None:
        return ""
    os.set_blocking(fd, True)
    chunks = []
    while chunk := os.read(fd, 65536):
        chunks.append(chunk)
    return b"".join(chunks).decode()


def pod(name: str = "mypod", **spec) -> dict:
    return {"metadata": {"name": name, "namespace": "default", "uid": "uid-1"}, "spec": spec}
