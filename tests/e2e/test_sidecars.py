"""Native sidecars (init containers with restartPolicy: Always) on real containers, shaped after
the upstream e2e test/e2e_node/container_lifecycle_test.go. Every container and hook appends
"<uptime> <who> <what>" to a log in a hostPath directory the test owns, so the order in which
things ran is read from one file."""
from __future__ import annotations

import http.server
import threading

from helpers import as_yaml, cstatus, phase, pod, sh

UP = "read u _ < /proc/uptime"
# Hooks that run one after another are >= 1 s apart here (each sleeps 1 s); "at once" allows
# 0.9 s (upstream allows 0.5 s; a loaded CI machine spawns exec hooks slower).
AT_ONCE = 0.9


def record(who: str, what: str) -> str:
    """Shell that appends one line to the shared log."""
    return f'{UP}; echo "$u {who} {what}" >> /rec/log'


def rec_mount() -> dict:
    return {"volumeMounts": [{"name": "rec", "mountPath": "/rec"}]}


def rec_volume(tmp_path) -> list[dict]:
    return [{"name": "rec", "hostPath": {"path": str(tmp_path), "type": "Directory"}}]


def sidecar(name: str, script: str, **fields) -> dict:
    return sh(name, script, restartPolicy="Always", **rec_mount(), **fields)


def stops_on_term(name: str, linger: float = 1) -> str:
    """A container that runs until SIGTERM, then takes `linger` seconds to exit."""
    return (f"trap '{record(name, 'term')}; sleep {linger}; {record(name, 'exit')}; exit 0' TERM; "
            f"{record(name, 'start')}; while true; do sleep 0.1; done")


def read_log(tmp_path) -> list[tuple[float, str, str]]:
    out = []
    for line in (tmp_path / "log").read_text().splitlines():
        t, who, what = line.split(" ", 2)
        out.append((float(t), who, what))
    return out


def first(log, who: str, what: str) -> int:
    return next(i for i, e in enumerate(log) if e[1:] == (who, what))


class DaemonLog:
    """What the session's daemon logged during one test: it must hold no traceback."""

    def __init__(self, podrun):
        self.path = podrun.roots.daemon_log
        with open(self.path, "rb") as f:
            self.offset = f.seek(0, 2)

    def errors(self) -> str:
        with open(self.path, "rb") as f:
            f.seek(self.offset)
            text = f.read().decode("utf-8", "replace")
        return text if ("Traceback" in text or " ERROR " in text) else ""


def test_should_restart_a_sidecar_that_exits_in_a_pod_with_restart_policy_never(podrun, tmp_path):
    # upstream: "using a restartable init container in a Pod with restartPolicy=Never / a restartable
    # init container starts and exits with exit code 1 continuously": it is restarted before and
    # after the regular container started, with back-off, and the regular container completes.
    daemon = DaemonLog(podrun)
    side = "restartable-init-1"
    spec = pod("sidecar-restarts",
               sh("regular-1", f"{record('regular-1', 'start')}; sleep 14; {record('regular-1', 'exit')}",
                  **rec_mount()),
               restart="Never", volumes=rec_volume(tmp_path),
               init=[sidecar(side, f"{record(side, 'start')}; sleep 1; {record(side, 'exit')}; exit 1"),
                     sh("init-1", f"{record('init-1', 'start')}; sleep 4", **rec_mount())])
    podrun.apply_text(as_yaml(spec))
    crashloop = podrun.wait_for("sidecar-restarts", lambda p: cstatus(p, side).get("state", {}).get(
        "waiting", {}).get("reason") == "CrashLoopBackOff", timeout=30)
    assert phase(crashloop) in ("Pending", "Running")
    p = podrun.wait_for("sidecar-restarts", lambda p: phase(p) in ("Succeeded", "Failed"), timeout=60)
    assert phase(p) == "Succeeded", p["status"]
    assert cstatus(p, "regular-1")["state"]["terminated"]["exitCode"] == 0
    assert cstatus(p, "restartable-init-1")["restartCount"] >= 2
    log = read_log(tmp_path)
    starts = [t for t, who, what in log if who == "restartable-init-1" and what == "start"]
    regular = first(log, "regular-1", "start")
    sidecar_runs = [i for i, e in enumerate(log) if e[1:] == ("restartable-init-1", "start")]
    assert any(i < regular for i in sidecar_runs[1:]), log     # restarted before regular-1 started
    assert any(i > regular for i in sidecar_runs), log         # and after
    assert starts[1] - starts[0] < 4, starts                  # first exit: at once
    assert starts[2] - starts[1] >= 9.5, starts               # then CrashLoopBackOff 10 s
    assert first(log, "restartable-init-1", "start") < first(log, "init-1", "start")
    runs = [what for _, who, what in log if who == side and what in ("start", "exit")]
    assert runs[:6] == ["start", "exit"] * 3, log               # one instance at a time
    assert daemon.errors() == ""


def test_should_terminate_sidecars_in_reverse_order_after_all_main_containers_have_exited(podrun, tmp_path):
    # upstream: "should terminate sidecars in reverse order after all main containers have exited"
    names = ["restartable-init-1", "restartable-init-2", "restartable-init-3"]
    post_start = {"postStart": {"exec": {"command": ["sh", "-c", record(names[0], "postStart")]}}}
    def hooks(n: str) -> dict:
        pre_stop = {"preStop": {"exec": {"command": ["sh", "-c", f"{record(n, 'preStop')}; sleep 1"]}}}
        return {"lifecycle": {**pre_stop, **(post_start if n == names[0] else {})}}
    inits = [sidecar(n, stops_on_term(n), **hooks(n)) for n in names]
    spec = pod("serialize-termination",
               sh("regular-1", f"{record('regular-1', 'start')}; sleep 3; {record('regular-1', 'exit')}",
                  **rec_mount()),
               restart="Never", init=inits, volumes=rec_volume(tmp_path))
    podrun.apply_text(as_yaml(spec))
    p = podrun.wait_for("serialize-termination", lambda p: phase(p) in ("Succeeded", "Failed"), timeout=60)
    assert phase(p) == "Succeeded", p["status"]
    log = read_log(tmp_path)
    # started in order, each after the one before it started (its postStart hook returned)
    assert first(log, names[0], "start") < first(log, names[1], "start") < first(log, names[2], "start") \
        < first(log, "regular-1", "start"), log
    assert first(log, names[0], "postStart") < first(log, names[1], "start"), log
    # main containers exit first, then the sidecars in reverse order, each once the next is gone
    exits = [who for _, who, what in log if what == "exit"]
    assert exits == ["regular-1", names[2], names[1], names[0]], log
    assert first(log, names[2], "exit") < first(log, names[1], "term"), log
    assert first(log, names[1], "exit") < first(log, names[0], "term"), log
    for n in names:
        assert cstatus(p, n)["state"]["terminated"]["exitCode"] == 0
    # the pod finishing stops the sidecars as a delete does: every preStop hook at once, after
    # the main container exited and before any sidecar got its stop signal
    pre_stops = [t for t, _, what in log if what == "preStop"]
    assert len(pre_stops) == 3 and max(pre_stops) - min(pre_stops) < AT_ONCE, log
    assert first(log, "regular-1", "exit") < min(first(log, n, "preStop") for n in names), log
    assert max(first(log, n, "preStop") for n in names) < min(first(log, n, "term") for n in names), log


class _HookServer:
    """An httpGet preStop target on loopback that records into the same log."""

    def __init__(self, log_path, who: str):
        outer = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self):
                with open("/proc/uptime") as f:
                    up = f.read().split()[0]
                with open(log_path, "a") as f:
                    f.write(f"{up} {who} preStop\n")
                outer.paths.append(self.path)
                self.send_response(200)
                self.end_headers()

            def log_message(self, *_):
                pass

        self.paths: list[str] = []
        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def test_should_call_sidecar_pre_stop_hooks_simultaneously_on_delete_and_stop_mains_first(podrun, tmp_path):
    # upstream: "should call sidecar container PreStop hook simultaneously" (exec hooks) — here by
    # deleting the pod, with one sidecar's preStop an httpGet
    names = ["restartable-init-1", "restartable-init-2", "restartable-init-3"]
    server = _HookServer(tmp_path / "log", names[1])
    try:
        def pre_stop(n: str) -> dict:
            if n == names[1]:
                return {"preStop": {"httpGet": {"host": "127.0.0.1", "port": server.port, "path": "/stop"}}}
            return {"preStop": {"exec": {"command": ["sh", "-c", f"{record(n, 'preStop')}; sleep 1"]}}}
        inits = [sidecar(n, stops_on_term(n), lifecycle=pre_stop(n)) for n in names]
        spec = pod("serialize-termination-simul-prestop", sh("regular-1", stops_on_term("regular-1", 0),
                                                             **rec_mount()),
                   init=inits, volumes=rec_volume(tmp_path))
        podrun.apply_text(as_yaml(spec))
        podrun.wait_for("serialize-termination-simul-prestop",
                        lambda p: phase(p) == "Running" and all(
                            cs.get("started") for cs in p["status"]["initContainerStatuses"]), timeout=30)
        assert podrun("delete", "pod", "serialize-termination-simul-prestop").returncode == 0
        log = read_log(tmp_path)
        assert server.paths == ["/stop"]
        pre_stops = [t for t, _, what in log if what == "preStop"]
        assert len(pre_stops) == 3 and max(pre_stops) - min(pre_stops) < AT_ONCE, log    # at once
        exits = [who for _, who, what in log if what == "exit"]
        assert exits == ["regular-1", names[2], names[1], names[0]], log
        # the sidecars' hooks ran before any sidecar was sent its stop signal
        assert max(first(log, n, "preStop") for n in names) < min(first(log, n, "term") for n in names), log
    finally:
        server.close()
