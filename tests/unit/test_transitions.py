"""Container state edges checked at the status writer (kubelet status_manager.go
checkContainerStateTransition): a terminated container comes back only if it may restart — and
a sidecar always may, whatever the pod's restartPolicy."""
from __future__ import annotations

import pytest

from podrun.clock import FakeClock
from podrun.errors import IllegalTransition
from podrun.paths import Roots
from podrun.status.manager import StatusManager
from podrun.status.transitions import check_transition

W, R, T = {"waiting": {"reason": "X"}}, {"running": {}}, {"terminated": {"exitCode": 1}}


@pytest.mark.parametrize("old,new,policy,ok", [
    (W, R, "Never", True), (W, T, "Never", True), (W, W, "Never", True),
    (R, T, "Never", True), (R, R, "Never", True), (R, W, "Always", False),
    (T, W, "Always", True), (T, R, "OnFailure", True), (T, T, "Never", True),
    (T, W, "Never", False), (T, R, "Never", False),
])
def test_edges(old, new, policy, ok):
    if ok:
        check_transition(old, new, policy)
    else:
        with pytest.raises(IllegalTransition):
            check_transition(old, new, policy)


def test_a_sidecar_restarts_in_a_never_pod_but_a_main_container_does_not(tmp_path):
    roots = Roots(str(tmp_path / "run"), str(tmp_path / "lib"), str(tmp_path / "log"))
    st = StatusManager(roots, FakeClock(), "node", "127.0.0.1")
    pod = {"metadata": {"name": "p", "namespace": "default", "uid": "u"},
           "spec": {"restartPolicy": "Never", "initContainers": [{"name": "side", "restartPolicy": "Always"}],
                    "containers": [{"name": "main"}]}}
    st.add_pod(pod)
    key = ("default", "p")
    for name in ("side", "main"):
        st.set_container(key, name, state=R)
        st.set_container(key, name, state=T)
    st.set_container(key, "side", state={"waiting": {"reason": "CrashLoopBackOff"}})
    st.set_container(key, "side", state=R)
    with pytest.raises(IllegalTransition):
        st.set_container(key, "main", state=R)
