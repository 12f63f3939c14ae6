"""Bad input: every rule reports the file, the document number, the field path and what is wrong."""
from __future__ import annotations

import copy
from decimal import Decimal
from typing import Any, Callable

import pytest
import yaml

from podrun.api.defaults import apply_defaults
from podrun.api.fieldpath import FieldPath
from podrun.api.manifests import Document, load_text
from podrun.api.quantity import ERR_FORMAT_WRONG, ERR_SUFFIX, cpu_millis, memory_bytes, parse_quantity
from podrun.api.update_validation import validate_update
from podrun.api.validation import validate, validate_all

FILE = "pods.yaml"
DNS1123_LABEL_MSG = ("a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', "
                     "and must start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', "
                     "regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')")
DNS1123_SUBDOMAIN_MSG = ("a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, "
                         "'-' or '.', and must start and end with an alphanumeric character (e.g. "
                         "'example.com', regex used for validation is "
                         "'[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')")


def valid_pod(name: str = "web") -> dict:
    return {
        "apiVersion": "v1", "kind": "Pod", "metadata": {"name": name, "labels": {"app": "web"}},
        "spec": {
            "initContainers": [{"name": "init", "image": "busybox",
                                "volumeMounts": [{"name": "data", "mountPath": "/data"}]}],
            "containers": [
                {"name": "app", "image": "busybox:1.36", "command": ["sh", "-c", "sleep 1"],
                 "ports": [{"name": "http", "containerPort": 8080}],
                 "env": [{"name": "MY_VAR", "value": "1"}],
                 "resources": {"limits": {"memory": "64Mi", "cpu": "500m"}},
                 "volumeMounts": [{"name": "data", "mountPath": "/data"}],
                 "readinessProbe": {"httpGet": {"port": "http", "path": "/healthz"}}},
                {"name": "side", "image": "busybox",
                 "livenessProbe": {"exec": {"command": ["true"]}, "periodSeconds": 5},
                 "lifecycle": {"preStop": {"sleep": {"seconds": 2}}}},
            ],
            "volumes": [{"name": "data", "emptyDir": {}},
                        {"name": "host", "hostPath": {"path": "/srv", "type": "Directory"}}],
        },
    }


def errors_in_second_document(mutate: Callable[[dict], Any]) -> list[tuple[str, int, str, str]]:
    """The pod, changed by `mutate`, as document 2 of pods.yaml behind a valid document 1."""
    pod = valid_pod("bad")
    mutate(pod)
    text = yaml.safe_dump(valid_pod("good")) + "---\n" + yaml.safe_dump(pod)
    return [(e.file, e.doc, e.field_path, e.reason) for e in validate_all(load_text(text, FILE))]


def one_error(mutate: Callable[[dict], Any]) -> tuple[str, str]:
    errors = errors_in_second_document(mutate)
    assert len(errors) == 1, errors
    file, doc, path, reason = errors[0]
    assert (file, doc) == (FILE, 2)
    return path, reason


def c0(pod: dict) -> dict:
    return pod["spec"]["containers"][0]


def test_valid_pod_has_no_errors():
    assert validate(Document(FILE, 1, valid_pod())) == []


def test_the_examples_shipped_with_podrun_are_valid():
    import glob
    import os
    from podrun.api.manifests import load
    examples = os.path.join(os.path.dirname(__file__), "..", "..", "examples")
    assert validate_all(load(sorted(glob.glob(os.path.join(examples, "*.yaml"))))) == []


def test_error_string_names_file_document_and_path():
    errors = validate_all(load_text(yaml.safe_dump(valid_pod()) + "---\n" +
                                    "apiVersion: v1\nkind: Pod\nmetadata: {name: x}\nspec:\n  containers:\n"
                                    "  - {name: c, imagee: busybox, image: b}\n", FILE))
    assert [str(e) for e in errors] == ['pods.yaml: document 2: spec.containers[0].imagee: unknown field "imagee"']


# ---- kind and version ------------------------------------------------------------------------

def test_other_kind_uses_kubectls_no_matches_wording():
    errors = validate(Document(FILE, 3, {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "d"}}))
    assert [(e.doc, e.field_path) for e in errors] == [(3, "")]
    assert errors[0].reason.startswith('no matches for kind "Deployment" in version "apps/v1"')


def test_pod_in_other_version_is_refused():
    assert one_error(lambda p: p.update(apiVersion="v2")) == ("", 'no matches for kind "Pod" in version "v2"')


def test_missing_api_version_and_kind_are_both_reported():
    errors = validate(Document(FILE, 1, {"metadata": {"name": "x"}}))
    assert [e.reason for e in errors] == ["apiVersion not set", "kind not set"]


# ---- strict decoding and types ---------------------------------------------------------------

def test_unknown_field_names_its_path():
    assert one_error(lambda p: c0(p).update(imagee="x")) == ("spec.containers[0].imagee", 'unknown field "imagee"')


def test_unknown_field_in_metadata_and_nested_probe():
    errors = errors_in_second_document(lambda p: (p["metadata"].update(nam="x"),
                                                  c0(p)["readinessProbe"]["httpGet"].update(paht="/")))
    assert [e[2:] for e in errors] == [("metadata.nam", 'unknown field "nam"'),
                                       ("spec.containers[0].readinessProbe.httpGet.paht", 'unknown field "paht"')]


def test_status_is_accepted_on_input():
    assert errors_in_second_document(lambda p: p.update(status={"phase": "Running", "anything": 1})) == []


def test_wrong_type_string_for_integer():
    assert one_error(lambda p: c0(p)["ports"][0].update(containerPort="80")) == (
        "spec.containers[0].ports[0].containerPort", 'Invalid value: "80": must be an integer (got string)')


def test_wrong_type_integer_for_string():
    assert one_error(lambda p: c0(p)["env"][0].update(value=3)) == (
        "spec.containers[0].env[0].value", "Invalid value: 3: must be a string (got integer)")


def test_wrong_type_map_for_list():
    assert one_error(lambda p: c0(p).update(command="sleep 1")) == (
        "spec.containers[0].command", 'Invalid value: "sleep 1": must be a list (got string)')


def test_wrong_type_boolean():
    assert one_error(lambda p: p["spec"].update(hostNetwork="yes please")) == (
        "spec.hostNetwork", 'Invalid value: "yes please": must be a boolean (got string)')


def test_bad_quantity_uses_kubernetes_message():
    assert one_error(lambda p: c0(p)["resources"]["limits"].update(memory="lots")) == (
        "spec.containers[0].resources.limits[memory]", f'Invalid value: "lots": {ERR_FORMAT_WRONG}')


def test_request_above_limit_is_refused():
    assert one_error(lambda p: c0(p)["resources"].update(requests={"cpu": "2"})) == (
        "spec.containers[0].resources.requests[cpu]", 'Invalid value: "2": must be less than or equal to cpu limit of 500m')


def test_unsupported_volume_source_names_the_field():
    path, reason = one_error(lambda p: p["spec"]["volumes"].append({"name": "cfg", "configMap": {"name": "x"}}))
    assert (path, reason) == ("spec.volumes[2].configMap", "Forbidden: configMap is not supported by podrun yet")


@pytest.mark.parametrize("source", ["secret", "downwardAPI", "projected"])
def test_other_unsupported_volume_sources(source):
    path, reason = one_error(lambda p: p["spec"]["volumes"].append({"name": "v", source: {}}))
    assert (path, reason) == (f"spec.volumes[2].{source}", f"Forbidden: {source} is not supported by podrun yet")


# ---- required fields and names ---------------------------------------------------------------

def test_missing_pod_name():
    assert one_error(lambda p: p["metadata"].pop("name")) == (
        "metadata.name", "Required value: name or generateName is required")


def test_pod_name_must_be_dns1123_subdomain():
    assert one_error(lambda p: p["metadata"].update(name="Web_1")) == (
        "metadata.name", f'Invalid value: "Web_1": {DNS1123_SUBDOMAIN_MSG}')


def test_containers_must_not_be_empty():
    assert one_error(lambda p: p["spec"].update(containers=[])) == ("spec.containers", "Required value")


def test_missing_spec_requires_containers():
    assert one_error(lambda p: p.pop("spec")) == ("spec.containers", "Required value")


def test_container_name_required():
    assert one_error(lambda p: c0(p).pop("name")) == ("spec.containers[0].name", "Required value")


def test_container_name_must_be_dns1123_label():
    assert one_error(lambda p: c0(p).update(name="App")) == (
        "spec.containers[0].name", f'Invalid value: "App": {DNS1123_LABEL_MSG}')


def test_container_name_with_dots_says_so():
    assert one_error(lambda p: c0(p).update(name="a.b")) == (
        "spec.containers[0].name", 'Invalid value: "a.b": must not contain dots')


def test_image_required():
    assert one_error(lambda p: c0(p).pop("image")) == ("spec.containers[0].image", "Required value")


def test_duplicate_container_names_across_init_and_regular():
    assert one_error(lambda p: c0(p).update(name="init")) == ("spec.containers[0].name", 'Duplicate value: "init"')


def test_duplicate_volume_names():
    assert one_error(lambda p: p["spec"]["volumes"][1].update(name="data")) == (
        "spec.volumes[1].name", 'Duplicate value: "data"')


def test_volume_name_must_be_dns1123_label():
    assert one_error(lambda p: (p["spec"]["volumes"][1].update(name="Host"))) == (
        "spec.volumes[1].name", f'Invalid value: "Host": {DNS1123_LABEL_MSG}')


def test_port_name_must_be_iana_svc_name():
    def mutate(p):
        c0(p)["ports"][0]["name"] = "http--x"
        c0(p)["readinessProbe"]["httpGet"]["port"] = 8080
    assert one_error(mutate) == ("spec.containers[0].ports[0].name",
                                 'Invalid value: "http--x": must not contain consecutive hyphens')


def test_env_var_name_like_kubernetes():
    path, reason = one_error(lambda p: c0(p)["env"][0].update(name="1VAR"))
    assert path == "spec.containers[0].env[0].name"
    assert reason == ('Invalid value: "1VAR": a valid environment variable name must consist of alphabetic '
                      "characters, digits, '_', '-', or '.', and must not start with a digit (e.g. "
                      "'my.env-name',  or 'MY_ENV.NAME',  or 'MyEnvName1', regex used for validation is "
                      "'[-._a-zA-Z][-._a-zA-Z0-9]*')")


def test_env_field_ref_path_must_be_supported():
    path, reason = one_error(lambda p: c0(p)["env"].append(
        {"name": "X", "valueFrom": {"fieldRef": {"fieldPath": "spec.nope"}}}))
    assert path == "spec.containers[0].env[1].valueFrom.fieldRef.fieldPath"
    assert reason.startswith('Unsupported value: "spec.nope": supported values: "metadata.annotations"')


def test_annotations_keys_and_values_may_total_256_kib():
    # apimachinery ValidateAnnotationsSize: bytes of keys + values (UTF-8), no value shown
    fits = {"a": "x" * 131071, "b": "é" * 65535 + "y"}           # 1 + 131071 + 1 + 131071 bytes
    assert validate(Document(FILE, 1, dict(valid_pod(), metadata={"name": "w", "annotations": fits}))) == []
    assert one_error(lambda p: p["metadata"].update(annotations=dict(fits, c=""))) == \
        ("metadata.annotations", "Too long: must have at most 262144 bytes")


def test_annotation_keys_are_qualified_names_in_any_case():
    assert validate(Document(FILE, 1, dict(valid_pod(), metadata={"name": "w", "annotations": {
        "Example.COM/Some_Key": "v"}}))) == []
    path, reason = one_error(lambda p: p["metadata"].update(annotations={"bad key": "v"}))
    assert path == "metadata.annotations" and reason.startswith('Invalid value: "bad key": name part must consist of')


def test_label_value_must_be_valid():
    path, reason = one_error(lambda p: p["metadata"]["labels"].update(app="a b"))
    assert path == "metadata.labels"
    assert reason.startswith('Invalid value: "a b": a valid label must be an empty string')


# ---- volumes and mounts ----------------------------------------------------------------------

def test_volume_mount_naming_no_volume():
    assert one_error(lambda p: c0(p)["volumeMounts"][0].update(name="cache")) == (
        "spec.containers[0].volumeMounts[0].name", 'Not found: "cache"')


def test_mount_path_must_be_absolute():
    assert one_error(lambda p: c0(p)["volumeMounts"][0].update(mountPath="data")) == (
        "spec.containers[0].volumeMounts[0].mountPath", 'Invalid value: "data": must be an absolute path')


def test_sub_path_must_stay_inside_the_volume():
    # validation.go names these without the mount's index (volumeMounts.subPath), as upstream
    assert one_error(lambda p: c0(p)["volumeMounts"][0].update(subPath="../etc")) == (
        "spec.containers[0].volumeMounts.subPath", "Invalid value: \"../etc\": must not contain '..'")
    assert one_error(lambda p: c0(p)["volumeMounts"][0].update(subPathExpr="/$(POD)")) == (
        "spec.containers[0].volumeMounts.subPathExpr", 'Invalid value: "/$(POD)": must be a relative path')


def test_sub_path_and_sub_path_expr_are_mutually_exclusive():
    assert one_error(lambda p: c0(p)["volumeMounts"][0].update(subPath="a", subPathExpr="$(POD)")) == (
        "spec.containers[0].volumeMounts[0].subPathExpr",
        'Invalid value: "$(POD)": subPathExpr and subPath are mutually exclusive')


def test_relative_host_path_is_refused():
    assert one_error(lambda p: p["spec"]["volumes"][1]["hostPath"].update(path="srv/data")) == (
        "spec.volumes[1].hostPath.path", 'Invalid value: "srv/data": must be an absolute path')


def test_host_path_type_enum():
    path, reason = one_error(lambda p: p["spec"]["volumes"][1]["hostPath"].update(type="Dir"))
    assert path == "spec.volumes[1].hostPath.type"
    assert reason == ('Unsupported value: "Dir": supported values: "", "DirectoryOrCreate", "Directory", '
                      '"FileOrCreate", "File", "Socket", "CharDevice", "BlockDevice"')


def test_two_volume_sources_are_refused():
    assert one_error(lambda p: p["spec"]["volumes"][1].update(emptyDir={})) == (
        "spec.volumes[1].emptyDir", "Forbidden: may not specify more than 1 volume type")


def test_volume_with_only_a_name_is_an_empty_dir():
    assert errors_in_second_document(lambda p: p["spec"]["volumes"][0].pop("emptyDir")) == []


# ---- ports -----------------------------------------------------------------------------------

@pytest.mark.parametrize("port", [70000, -1])
def test_container_port_out_of_range(port):
    assert one_error(lambda p: c0(p)["ports"][0].update(containerPort=port)) == (
        "spec.containers[0].ports[0].containerPort", f"Invalid value: {port}: must be between 1 and 65535, inclusive")


def test_container_port_required():
    assert one_error(lambda p: c0(p)["ports"][0].pop("containerPort")) == (
        "spec.containers[0].ports[0].containerPort", "Required value")


def test_protocol_enum():
    assert one_error(lambda p: c0(p)["ports"][0].update(protocol="tcp")) == (
        "spec.containers[0].ports[0].protocol", 'Unsupported value: "tcp": supported values: "SCTP", "TCP", "UDP"')


# ---- probes and hooks ------------------------------------------------------------------------

def test_negative_probe_period_names_the_full_path():
    assert one_error(lambda p: p["spec"]["containers"][1]["livenessProbe"].update(periodSeconds=-1)) == (
        "spec.containers[1].livenessProbe.periodSeconds", "Invalid value: -1: must be greater than or equal to 0")


@pytest.mark.parametrize("field", ["timeoutSeconds", "failureThreshold", "successThreshold", "initialDelaySeconds"])
def test_negative_probe_numbers(field):
    errors = errors_in_second_document(lambda p: c0(p)["readinessProbe"].update({field: -2}))
    assert errors == [(FILE, 2, f"spec.containers[0].readinessProbe.{field}",
                       "Invalid value: -2: must be greater than or equal to 0")]


def test_zero_probe_period_is_defaulted_like_kubernetes():
    assert errors_in_second_document(lambda p: c0(p)["readinessProbe"].update(periodSeconds=0)) == []


@pytest.mark.parametrize("kind", ["livenessProbe", "startupProbe"])
def test_success_threshold_must_be_one_for_liveness_and_startup(kind):
    assert one_error(lambda p: c0(p).update({kind: {"exec": {"command": ["true"]}, "successThreshold": 2}})) == (
        f"spec.containers[0].{kind}.successThreshold", "Invalid value: 2: must be 1")


def test_readiness_success_threshold_may_be_more_than_one():
    assert errors_in_second_document(lambda p: c0(p)["readinessProbe"].update(successThreshold=3)) == []


def test_probe_without_handler():
    assert one_error(lambda p: c0(p).update(livenessProbe={"periodSeconds": 3})) == (
        "spec.containers[0].livenessProbe", "Required value: must specify a handler type")


def test_probe_with_two_handlers():
    assert one_error(lambda p: c0(p)["readinessProbe"].update(tcpSocket={"port": 8080})) == (
        "spec.containers[0].readinessProbe.tcpSocket", "Forbidden: may not specify more than 1 handler type")


def test_hook_with_two_handlers():
    assert one_error(lambda p: p["spec"]["containers"][1]["lifecycle"]["preStop"].update(exec={"command": ["x"]})) == (
        "spec.containers[1].lifecycle.preStop.sleep", "Forbidden: may not specify more than 1 handler type")


def test_named_probe_port_must_name_a_container_port():
    assert one_error(lambda p: c0(p)["readinessProbe"]["httpGet"].update(port="metrics")) == (
        "spec.containers[0].readinessProbe.httpGet.port", 'Not found: "metrics"')


def test_probe_port_out_of_range():
    assert one_error(lambda p: c0(p)["readinessProbe"]["httpGet"].update(port=0)) == (
        "spec.containers[0].readinessProbe.httpGet.port", "Required value")


def test_http_scheme_enum():
    assert one_error(lambda p: c0(p)["readinessProbe"]["httpGet"].update(scheme="ftp")) == (
        "spec.containers[0].readinessProbe.httpGet.scheme", 'Unsupported value: "ftp": supported values: "HTTP", "HTTPS"')


@pytest.mark.parametrize("field", ["livenessProbe", "readinessProbe", "startupProbe", "lifecycle"])
def test_regular_init_container_may_not_have_probes_or_hooks(field):
    value = {"postStart": {"exec": {"command": ["x"]}}} if field == "lifecycle" else {"exec": {"command": ["x"]}}
    assert one_error(lambda p: p["spec"]["initContainers"][0].update({field: value})) == (
        f"spec.initContainers[0].{field}", "Forbidden: may not be set for init containers without restartPolicy=Always")


def test_sidecar_init_container_may_have_probes():
    assert errors_in_second_document(lambda p: p["spec"]["initContainers"][0].update(
        restartPolicy="Always", readinessProbe={"exec": {"command": ["x"]}})) == []


def test_init_container_restart_policy_only_always():
    assert one_error(lambda p: p["spec"]["initContainers"][0].update(restartPolicy="Never")) == (
        "spec.initContainers[0].restartPolicy", 'Unsupported value: "Never": supported values: "Always"')


def test_regular_container_restart_policy_forbidden():
    assert one_error(lambda p: c0(p).update(restartPolicy="Always")) == (
        "spec.containers[0].restartPolicy", "Forbidden: may not be set for non-init containers")


# ---- pod-level enums and numbers ---------------------------------------------------------------

@pytest.mark.parametrize("field, value, allowed", [
    ("restartPolicy", "Sometimes", '"Always", "OnFailure", "Never"'),
    ("dnsPolicy", "Google", '"ClusterFirstWithHostNet", "ClusterFirst", "Default", "None"'),
])
def test_pod_enums(field, value, allowed):
    assert one_error(lambda p: p["spec"].update({field: value})) == (
        f"spec.{field}", f'Unsupported value: "{value}": supported values: {allowed}')


@pytest.mark.parametrize("field, value, allowed", [
    ("imagePullPolicy", "Sometimes", '"Always", "IfNotPresent", "Never"'),
    ("terminationMessagePolicy", "Logs", '"File", "FallbackToLogsOnError"'),
])
def test_container_enums(field, value, allowed):
    assert one_error(lambda p: c0(p).update({field: value})) == (
        f"spec.containers[0].{field}", f'Unsupported value: "{value}": supported values: {allowed}')


def test_negative_termination_grace_period():
    assert one_error(lambda p: p["spec"].update(terminationGracePeriodSeconds=-5)) == (
        "spec.terminationGracePeriodSeconds", "Invalid value: -5: must be greater than or equal to 0")


def test_host_alias_ip_must_be_an_ip():
    assert one_error(lambda p: p["spec"].update(hostAliases=[{"ip": "999.1.1.1", "hostnames": ["foo"]}])) == (
        "spec.hostAliases[0].ip", 'Invalid value: "999.1.1.1": must be a valid IP address, (e.g. 10.9.8.7 or 2001:db8::ffff)')


def test_all_errors_of_a_document_are_collected():
    def mutate(p):
        c0(p).pop("image")
        c0(p)["ports"][0]["containerPort"] = 0
        p["spec"]["volumes"][1]["hostPath"]["path"] = "rel"
    paths = [e[2] for e in errors_in_second_document(mutate)]
    assert paths == ["spec.volumes[1].hostPath.path", "spec.containers[0].image",
                     "spec.containers[0].ports[0].containerPort"]


def test_list_item_errors_carry_the_items_prefix():
    pod = valid_pod()
    c0(pod)["image"] = ""
    text = yaml.safe_dump({"apiVersion": "v1", "kind": "List", "items": [valid_pod("a"), pod]})
    errors = validate_all(load_text(text, "list.yaml"))
    assert [(e.file, e.doc, e.field_path, e.reason) for e in errors] == [
        ("list.yaml", 1, "items[1].spec.containers[0].image", "Required value")]


def test_two_documents_with_the_same_namespace_and_name_are_refused():
    text = yaml.safe_dump(valid_pod("web")) + "---\n" + yaml.safe_dump(valid_pod("web"))
    errors = validate_all(load_text(text, FILE))
    assert [(e.doc, e.field_path) for e in errors] == [(2, "metadata.name")]
    assert errors[0].reason == 'Duplicate value: "web": pod "default/web" is also in pods.yaml document 1'


def test_same_name_in_other_namespace_is_fine():
    other = valid_pod("web")
    other["metadata"]["namespace"] = "prod"
    text = yaml.safe_dump(valid_pod("web")) + "---\n" + yaml.safe_dump(other)
    assert validate_all(load_text(text, FILE)) == []


# ---- updates ---------------------------------------------------------------------------------

def stored(pod: dict) -> dict:
    """What the registry keeps: defaulted, with uid and nodeName."""
    out = apply_defaults(pod)
    out["metadata"].update(uid="u-1", creationTimestamp="2024-01-01T00:00:00Z", resourceVersion="1")
    out["spec"]["nodeName"] = "node"
    return out


def test_update_of_images_and_labels_is_allowed():
    new = valid_pod()
    c0(new)["image"] = "busybox:1.37"
    new["spec"]["initContainers"][0]["image"] = "busybox:1.37"
    new["metadata"]["labels"] = {"app": "v2"}
    assert validate_update(stored(valid_pod()), apply_defaults(new)) is None


def test_identical_update_is_allowed():
    assert validate_update(stored(valid_pod()), apply_defaults(valid_pod())) is None


def test_update_of_a_port_is_forbidden_with_kubernetes_message():
    new = valid_pod()
    c0(new)["ports"][0]["containerPort"] = 9090
    message = validate_update(stored(valid_pod()), apply_defaults(new))
    assert message is not None
    assert "\n" not in message  # one line on stderr
    assert message == ('The Pod "web" is invalid: spec: Forbidden: pod updates may not change fields other than '
                     "`spec.containers[*].image`,`spec.initContainers[*].image`,`spec.activeDeadlineSeconds`,"
                     "`spec.tolerations` (only additions to existing tolerations),"
                     "`spec.terminationGracePeriodSeconds` (allow it to be set to 1 if it was previously negative)"
                       " (changed: spec.containers[0].ports[0].containerPort: 8080 -> 9090)")


def test_update_adding_a_container_is_forbidden():
    new = valid_pod()
    new["spec"]["containers"].append({"name": "third", "image": "busybox"})
    assert validate_update(stored(valid_pod()), apply_defaults(new)) is not None


# ---- field paths and quantities ----------------------------------------------------------------

def test_field_path_like_kubernetes():
    path = FieldPath.root("spec").child("containers").index(1).child("livenessProbe")
    assert str(path) == "spec.containers[1].livenessProbe"
    assert str(FieldPath.root("metadata").child("labels").key("app")) == "metadata.labels[app]"
    assert str(FieldPath.root("spec", "volumes").index(0).child("hostPath", "path")) == "spec.volumes[0].hostPath.path"


@pytest.mark.parametrize("text, value", [
    ("1", Decimal(1)), (2, Decimal(2)), (0.5, Decimal("0.5")), ("500m", Decimal("0.5")),
    ("1Ki", Decimal(1024)), ("64Mi", Decimal(64 * 2**20)), ("1Gi", Decimal(2**30)), ("1Ti", Decimal(2**40)),
    ("1Pi", Decimal(2**50)), ("1Ei", Decimal(2**60)), ("1k", Decimal(1000)), ("1M", Decimal(10**6)),
    ("1G", Decimal(10**9)), ("1T", Decimal(10**12)), ("1P", Decimal(10**15)), ("1E", Decimal(10**18)),
    ("1e3", Decimal(1000)), ("2E-2", Decimal("0.02")), ("1.5Gi", Decimal(3 * 2**29)), ("100n", Decimal("1E-7")),
    ("10u", Decimal("0.00001")), ("+1", Decimal(1)), ("-1", Decimal(-1)), (".5", Decimal("0.5")),
])
def test_quantity_table(text, value):
    assert parse_quantity(text) == value


@pytest.mark.parametrize("text, message", [
    ("lots", ERR_FORMAT_WRONG), ("1.2.3", ERR_FORMAT_WRONG), ("Mi", ERR_FORMAT_WRONG), ("1KiB", ERR_FORMAT_WRONG),
    ("", ERR_FORMAT_WRONG), ("1e", ERR_SUFFIX), ("1Ki3", ERR_SUFFIX),
])
def test_bad_quantities(text, message):
    with pytest.raises(ValueError) as exc:
        parse_quantity(text)
    assert str(exc.value) == message


def test_cpu_and_memory_helpers_round_up_like_kubernetes():
    assert (cpu_millis("0.5"), cpu_millis("1"), cpu_millis("250m"), cpu_millis("1n")) == (500, 1000, 250, 1)
    assert (memory_bytes("64Mi"), memory_bytes("1k"), memory_bytes("0.5")) == (67108864, 1000, 1)


def test_security_context_ids_must_be_non_negative():
    path, reason = one_error(lambda p: c0(p).update(securityContext={"runAsUser": -1}))
    assert (path, reason) == ("spec.containers[0].securityContext.runAsUser",
                              "Invalid value: -1: must be between 0 and 2147483647, inclusive")
    path, reason = one_error(lambda p: p["spec"].update(securityContext={"supplementalGroups": [5, -2]}))
    assert path == "spec.securityContext.supplementalGroups[1]"


def test_no_privilege_escalation_conflicts_with_privileged_and_sys_admin():
    path, reason = one_error(lambda p: c0(p).update(
        securityContext={"privileged": True, "allowPrivilegeEscalation": False}))
    assert path == "spec.containers[0].securityContext"
    assert reason.endswith("cannot set `allowPrivilegeEscalation` to false and `privileged` to true")
    path, reason = one_error(lambda p: c0(p).update(
        securityContext={"allowPrivilegeEscalation": False, "capabilities": {"add": ["CAP_SYS_ADMIN"]}}))
    assert reason.endswith("cannot set `allowPrivilegeEscalation` to false and `capabilities.Add` CAP_SYS_ADMIN")


def test_proc_mount_is_default_or_unmasked():
    path, reason = one_error(lambda p: c0(p).update(securityContext={"procMount": "Host"}))
    assert (path, reason) == ("spec.containers[0].securityContext.procMount",
                              'Unsupported value: "Host": supported values: "Default", "Unmasked"')
