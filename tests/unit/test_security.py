"""The effective security settings of a container (runtime/security.py) and what the plan does
with them: pure, no root, no namespaces."""
from __future__ import annotations

from types import SimpleNamespace

import prctl
import pytest

from podrun.kernel import capabilities as caps
from podrun.kernel.syscalls import MS_BIND, MS_NODEV, MS_NOSUID, MS_RDONLY, MS_REC, RecordingSyscalls
from podrun.runtime import plan as P
from podrun.runtime import security as S
from podrun.runtime.child import apply_op
from podrun.runtime.state import SandboxInfo

KNOWN = tuple(caps.NAMES)
CURRENT = tuple(n for n in caps.NAMES if n != "CAP_SYS_RESOURCE")   # a runtime short of one cap
NODE = S.NodeCapabilities(KNOWN, CURRENT)
DB = S.UserDB(passwd=(("root", 0, 0), ("www", 33, 34), ("app", 1000, 1000)),
              groups=(("root", 0), ("www", 34), ("staff", 50)))
POD = {"metadata": {"name": "web", "namespace": "prod", "uid": "abc-123"}, "spec": {}}
SANDBOX = SandboxInfo(pause_pid=10, pause_start_time=99, ns_paths={"net": "/proc/10/ns/net"},
                      hostname="web", shares_pid=False, files={})


def pod(**sc) -> dict:
    return {**POD, "spec": {"securityContext": sc}}


def ctr(**sc) -> dict:
    return {"name": "c", "command": ["true"], "securityContext": sc}


def plan(container: dict, the_pod: dict = POD, volumes: dict | None = None, user: str = "") -> P.LaunchPlan:
    image = SimpleNamespace(rootfs="/img/rootfs", config={"User": user} if user else {})
    return P.container_plan(the_pod, container, SANDBOX, image, "/inst", volumes or {}, node=NODE)


# ---- merge -----------------------------------------------------------------------------------

def test_container_fields_win_and_pod_fields_fill_the_gaps():
    p = pod(runAsUser=1, runAsGroup=2, runAsNonRoot=True, seLinuxOptions={"level": "s0"},
            fsGroup=5, supplementalGroups=[6])
    eff = S.effective_context(p, ctr(runAsUser=10, readOnlyRootFilesystem=True))
    assert eff == {"runAsUser": 10, "runAsGroup": 2, "runAsNonRoot": True,
                   "seLinuxOptions": {"level": "s0"}, "readOnlyRootFilesystem": True}


def test_pod_only_fields_never_come_from_the_container():
    assert plan(ctr(fsGroup=5, supplementalGroups=[6])).supplementary_groups == []
    assert "readOnlyRootFilesystem" not in S.effective_context(pod(readOnlyRootFilesystem=True), ctr())


def test_fs_group_comes_first_among_supplementary_groups_without_repeats():
    assert S.supplementary_groups(pod(fsGroup=2000, supplementalGroups=[3000, 2000, 4000])) == [2000, 3000, 4000]
    assert plan(ctr(), pod(fsGroup=2000)).supplementary_groups == [2000]


# ---- user ------------------------------------------------------------------------------------

@pytest.mark.parametrize("sc,image_user,want", [
    ({}, "", (0, 0)),                                   # no User: root
    ({}, "www", (33, 34)),                              # a name: passwd
    ({}, "www:staff", (33, 50)),                        # group by name: group file
    ({}, "1000", (1000, 1000)),                         # a bare uid takes its passwd group
    ({}, "4242", (4242, 0)),                            # ... or root's when it has none
    ({}, "4242:7", (4242, 7)),
    ({"runAsUser": 4242}, "www", (4242, 0)),            # runAsUser replaces the image user
    ({"runAsUser": 1000, "runAsGroup": 3000}, "", (1000, 3000)),
    ({"runAsGroup": 3000}, "www", (33, 3000)),
])
def test_user_follows_containerd(sc, image_user, want):
    assert S.resolve_user(sc, image_user, DB) == want


@pytest.mark.parametrize("image_user,message", [
    ("nobody", "unable to find user nobody: no matching entries in passwd file"),
    ("www:wheel", "unable to find group wheel: no matching entries in group file"),
])
def test_unknown_user_or_group_is_a_config_error(image_user, message):
    with pytest.raises(S.CreateContainerConfigError, match=message):
        S.resolve_user({}, image_user, DB)


# ---- runAsNonRoot: the kubelet's three messages ----------------------------------------------

WHERE = '(pod: "web_prod(abc-123)", container: c)'


@pytest.mark.parametrize("sc,image_user,message", [
    ({"runAsNonRoot": True, "runAsUser": 0}, "1000", "container's runAsUser breaks non-root policy " + WHERE),
    ({"runAsNonRoot": True}, "", "container has runAsNonRoot and image will run as root " + WHERE),
    ({"runAsNonRoot": True}, "0:0", "container has runAsNonRoot and image will run as root " + WHERE),
    ({"runAsNonRoot": True}, "www", "container has runAsNonRoot and image has non-numeric user (www), "
                                    "cannot verify user is non-root " + WHERE),
])
def test_run_as_non_root_refusals(sc, image_user, message):
    with pytest.raises(S.RunAsNonRootError) as info:
        plan(ctr(**sc), user=image_user)
    assert str(info.value) == message
    assert isinstance(info.value, P.CreateContainerConfigError)


@pytest.mark.parametrize("sc,image_user", [
    ({"runAsNonRoot": True, "runAsUser": 1000}, ""),     # runAsUser decides, the image is not asked
    ({"runAsNonRoot": True, "runAsUser": 1000}, "www"),
    ({"runAsNonRoot": True}, "1000"),
    ({"runAsNonRoot": False}, ""),
    ({}, ""),
])
def test_run_as_non_root_accepts(sc, image_user):
    plan(ctr(**sc), user=image_user)


def test_run_as_non_root_from_the_pod_applies_to_every_container():
    with pytest.raises(S.RunAsNonRootError, match="image will run as root"):
        plan(ctr(), pod(runAsNonRoot=True))


# ---- capabilities ----------------------------------------------------------------------------

def caps_of(**capabilities) -> set[str]:
    return set(S.capability_set({"capabilities": capabilities}, NODE))


def test_default_set_is_containerds_fourteen():
    assert len(S.DEFAULT_CAPABILITIES) == 14
    assert plan(ctr()).capabilities == list(S.DEFAULT_CAPABILITIES)
    assert f"{caps.mask(S.DEFAULT_CAPABILITIES):016x}" == "00000000a80425fb"   # Docker's CapEff


def test_names_are_normalised_and_drop_wins_over_add():
    assert caps_of(add=["NET_ADMIN", "cap_sys_time"], drop=["CHOWN", "CAP_KILL"]) == \
        set(S.DEFAULT_CAPABILITIES) - {"CAP_CHOWN", "CAP_KILL"} | {"CAP_NET_ADMIN", "CAP_SYS_TIME"}
    assert "CAP_NET_ADMIN" not in caps_of(add=["NET_ADMIN"], drop=["NET_ADMIN"])


@pytest.mark.parametrize("spec,want", [
    ({"add": ["ALL"]}, set(CURRENT)),
    ({"add": ["all"], "drop": ["CHOWN"]}, set(CURRENT) - {"CAP_CHOWN"}),
    ({"drop": ["ALL"]}, set()),
    ({"drop": ["ALL"], "add": ["NET_BIND_SERVICE"]}, {"CAP_NET_BIND_SERVICE"}),   # drop all, then add
    ({"add": ["ALL"], "drop": ["ALL"]}, set()),
])
def test_all_in_add_and_drop(spec, want):
    assert caps_of(**spec) == want


def test_unknown_capability_is_a_config_error():
    with pytest.raises(S.UnknownCapability) as info:
        plan(ctr(capabilities={"add": ["FOO"]}))
    assert str(info.value) == 'unknown capability "CAP_FOO"'
    with pytest.raises(P.CreateContainerConfigError, match='"CAP_BAR"'):
        caps_of(drop=["CAP_BAR"])


def test_capability_table_agrees_with_the_kernel_numbers_prctl_was_built_with():
    for i, name in enumerate(caps.NAMES):
        if hasattr(prctl, name):
            assert getattr(prctl, name) == i, name
    assert caps.names_in_mask(0xa80425fb) == sorted(S.DEFAULT_CAPABILITIES, key=caps.number)


# ---- privileged, no_new_privs, procMount, read-only root --------------------------------------

def test_privileged_gets_the_runtimes_capabilities_host_devices_rw_sys_and_no_masks():
    p = plan(ctr(privileged=True))
    kinds = {type(op) for op in p.ops}
    assert p.capabilities == list(CURRENT) and p.no_new_privs is False
    assert P.HostDevices("/dev") in p.ops and P.MaskPath not in kinds and P.ReadonlyPath not in kinds
    assert P.Sysfs("/sys", readonly=False) in p.ops
    assert p.ops[0].flags == 0 and P.Tmpfs("/dev", size="65536k", mode=0o755, flags=MS_NOSUID) in p.ops


@pytest.mark.parametrize("sc,want", [
    ({}, False),
    ({"allowPrivilegeEscalation": True}, False),
    ({"allowPrivilegeEscalation": False}, True),
    ({"allowPrivilegeEscalation": False, "capabilities": {"add": ["SYS_ADMIN"]}}, False),
])
def test_no_new_privs_only_when_escalation_is_disallowed(sc, want):
    assert plan(ctr(**sc)).no_new_privs is want


def test_default_plan_masks_and_write_protects_proc_and_sys_after_mounting_them():
    p = plan(ctr())
    kinds = [type(op).__name__ for op in p.ops]
    masked = [op.target for op in p.ops if isinstance(op, P.MaskPath)]
    readonly = [op.target for op in p.ops if isinstance(op, P.ReadonlyPath)]
    assert masked == list(S.MASKED_PATHS) and readonly == list(S.READONLY_PATHS)
    assert "/proc/kcore" in masked and "/proc/sys" in readonly and "/sys/firmware" in masked
    assert kinds.index("Sysfs") < kinds.index("MaskPath") < kinds.index("ReadonlyPath")
    assert kinds.index("Proc") < kinds.index("MaskPath")


def test_unmasked_proc_mount_drops_the_masks_only():
    p = plan(ctr(procMount="Unmasked"))
    assert not [op for op in p.ops if isinstance(op, (P.MaskPath, P.ReadonlyPath))]
    assert P.Sysfs("/sys", readonly=True) in p.ops and p.capabilities == list(S.DEFAULT_CAPABILITIES)


def test_read_only_root_filesystem_sets_the_plan_flag():
    assert plan(ctr(readOnlyRootFilesystem=True)).readonly_root is True
    assert plan(ctr()).readonly_root is False


# ---- nodev -----------------------------------------------------------------------------------

def test_root_dev_and_empty_dirs_are_nodev_host_paths_are_not():
    the_pod = {**POD, "spec": {"volumes": [{"name": "scratch", "emptyDir": {}},
                                           {"name": "host", "hostPath": {"path": "/srv"}}]}}
    c = {**ctr(), "volumeMounts": [{"name": "scratch", "mountPath": "/s"}, {"name": "host", "mountPath": "/h"}]}
    p = plan(c, the_pod, {"scratch": "/v/scratch", "host": "/srv"})
    assert p.ops[0].flags == MS_NODEV
    assert P.Tmpfs("/dev", size="65536k", mode=0o755, flags=MS_NOSUID | MS_NODEV) in p.ops
    assert P.Bind("/v/scratch", "/s", nodev=True) in p.ops and P.Bind("/srv", "/h") in p.ops
    privileged = plan({**c, "securityContext": {"privileged": True}}, the_pod, {"scratch": "/v/scratch", "host": "/srv"})
    assert P.Bind("/v/scratch", "/s") in privileged.ops


def test_device_nodes_are_still_bound_from_the_host():
    binds = [(op.source, op.target) for op in plan(ctr()).ops if isinstance(op, P.Bind)]
    assert [b for b in binds if b[1].startswith("/dev/") and b[1] != "/dev/termination-log"] == \
        [(f"/dev/{n}", f"/dev/{n}") for n in P.DEV_NODES]


# ---- the child's side of the new ops, against the recording fake ------------------------------

def test_mask_binds_dev_null_over_files_mounts_ro_tmpfs_over_dirs_and_skips_missing(tmp_path):
    (tmp_path / "proc/acpi").mkdir(parents=True)
    (tmp_path / "proc/kcore").write_text("secret")
    rec = RecordingSyscalls()
    for target in ("/proc/kcore", "/proc/acpi", "/proc/missing"):
        apply_op(P.MaskPath(target), str(tmp_path), rec)
    assert rec.calls == [("mount", "/dev/null", f"{tmp_path}/proc/kcore", None, MS_BIND, None),
                         ("mount", "tmpfs", f"{tmp_path}/proc/acpi", "tmpfs", MS_RDONLY, None)]


def test_readonly_path_binds_onto_itself_then_remounts_and_skips_missing(tmp_path):
    (tmp_path / "proc/sys").mkdir(parents=True)
    rec = RecordingSyscalls()
    apply_op(P.ReadonlyPath("/proc/sys"), str(tmp_path), rec)
    apply_op(P.ReadonlyPath("/proc/missing"), str(tmp_path), rec)
    dest = f"{tmp_path}/proc/sys"
    assert [c[:5] for c in rec.calls[:1]] == [("mount", dest, dest, None, MS_BIND | MS_REC)]
    assert len(rec.calls) == 2 and rec.calls[1][4] & MS_RDONLY and rec.calls[1][2] == dest


def test_nodev_bind_is_remounted_with_nodev_kept_with_its_other_flags(tmp_path):
    (tmp_path / "vol").mkdir()
    (tmp_path / "root").mkdir()
    rec = RecordingSyscalls()
    apply_op(P.Bind(str(tmp_path / "vol"), "/s", nodev=True), str(tmp_path / "root"), rec)
    assert len(rec.calls) == 2
    assert rec.calls[1][4] & MS_NODEV and rec.calls[1][2] == f"{tmp_path}/root/s"


def test_overlay_is_mounted_with_the_ops_flags():
    rec = RecordingSyscalls()
    apply_op(P.Overlay("/l", "/u", "/w", "/m", flags=MS_NODEV), "/m", rec)
    assert rec.calls == [("mount", "overlay", "/m", "overlay", MS_NODEV, "lowerdir=/l,upperdir=/u,workdir=/w")]


def test_host_device_nodes_skip_pts_shm_console_ptmx_and_symlinks(tmp_path):
    from podrun.runtime.child import host_device_nodes
    nodes = host_device_nodes("/dev")
    assert "null" in nodes and not {"ptmx", "console"} & set(nodes)
    assert not [n for n in nodes if n.startswith(("pts/", "shm/"))]
    assert host_device_nodes(str(tmp_path)) == []
