"""`kubectl describe pod`: the text kubectl's describePod writes, field by field.

Follows staging/src/k8s.io/kubectl/pkg/describe/describe.go (describePod,
describeContainers, describeStatus, DescribeProbe, describeVolumes, DescribeEvents ...):
the same format strings go through a prefix writer (2 spaces per level) into Go's
tabwriter with tabbedString's settings (minwidth 0, tabwidth 8, padding 2, ' '), so
alignment, `<none>` placeholders and even kubectl's trailing spaces come out the same.
"""
from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal, InvalidOperation
from typing import Any
from urllib.parse import quote

from podrun.api.qos import qos_class
from podrun.printers.duration import age, timestamp
from podrun.printers.table import tabwrite

__all__ = ["describe_pod", "describe_probe", "pod_qos", "format_time", "PrefixWriter"]

LEVEL_0, LEVEL_1, LEVEL_2, LEVEL_3 = 0, 1, 2, 3
_MAX_ANNOTATION_LEN = 140                     # describe.go maxAnnotationLen
_SKIP_ANNOTATIONS = {"kubectl.kubernetes.io/last-applied-configuration"}


class PrefixWriter:
    """describe.go prefixWriter: text at an indentation level, buffered for the tabwriter."""

    def __init__(self) -> None:
        self.parts: list[str] = []

    def write(self, level: int, text: str) -> None:
        self.parts.append("  " * level + text)

    def write_line(self, text: str = "") -> None:
        self.parts.append(text + "\n")

    def render(self) -> str:
        # describe.go tabbedString: tabwriter.Init(buf, 0, 8, 2, ' ', 0)
        return tabwrite("".join(self.parts), 0, 8, 2)


def format_time(ts: str | None, tz: dt.tzinfo | None = None) -> str:
    """Go's time.RFC1123Z ("Mon, 02 Jan 2006 15:04:05 -0700"), in local time like kubectl."""
    epoch = timestamp(ts)
    if epoch is None:
        return "Mon, 01 Jan 0001 00:00:00 +0000"   # Go's zero time
    when = dt.datetime.fromtimestamp(epoch, tz or dt.timezone.utc)
    if tz is None:
        when = when.astimezone()
    return when.strftime("%a, %d %b %Y %H:%M:%S %z")


def _go_list(items: list[Any]) -> str:
    """fmt's %v of a []string: [a b c]."""
    return "[" + " ".join(str(i) for i in items) + "]"


def _go_bool(value: Any) -> str:
    return "true" if value else "false"


def _print_bool(value: Any) -> str:
    return "True" if value else "False"


# -- probes -----------------------------------------------------------------------------------

def describe_probe(probe: dict[str, Any]) -> str:
    """describe.go DescribeProbe: `exec [cat /tmp/healthy] delay=5s timeout=1s ...`."""
    attrs = (f"delay={int(probe.get('initialDelaySeconds') or 0)}s "
             f"timeout={int(probe.get('timeoutSeconds', 1))}s "
             f"period={int(probe.get('periodSeconds', 10))}s "
             f"#success={int(probe.get('successThreshold', 1))} "
             f"#failure={int(probe.get('failureThreshold', 3))}")
    if probe.get("exec") is not None:
        return f"exec {_go_list(probe['exec'].get('command') or [])} {attrs}"
    if probe.get("httpGet") is not None:
        return f"http-get {_probe_url(probe['httpGet'])} {attrs}"
    if probe.get("tcpSocket") is not None:
        tcp = probe["tcpSocket"]
        return f"tcp-socket {tcp.get('host') or ''}:{tcp.get('port', '')} {attrs}"
    if probe.get("grpc") is not None:
        grpc = probe["grpc"]
        return f"grpc <pod>:{grpc.get('port')} {grpc.get('service') or ''} {attrs}"
    return f"unknown {attrs}"


def _probe_url(http: dict[str, Any]) -> str:
    """The url.URL{Scheme, Host: JoinHostPort(host, port), Path}.String() of DescribeProbe."""
    scheme = str(http.get("scheme") or "HTTP").lower()    # the API defaults scheme to HTTP
    host = http.get("host") or ""
    port = str(http.get("port", ""))
    if port:
        host = f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
    path = http.get("path") or ""
    if path and not path.startswith("/") and host:
        path = "/" + path
    # Go's url.EscapedPath (encodePath): keeps $&+,/:;=@ and unreserved characters
    return f"{scheme}://{host}{quote(path, safe='/$&+,:;=@')}"


# -- quantities and QoS -------------------------------------------------------------------------

_SUFFIX = {
    "": 1, "m": Decimal("0.001"), "k": 10**3, "M": 10**6, "G": 10**9, "T": 10**12, "P": 10**15,
    "E": 10**18, "Ki": 2**10, "Mi": 2**20, "Gi": 2**30, "Ti": 2**40, "Pi": 2**50, "Ei": 2**60,
}


def _quantity(value: Any) -> Decimal:
    m = re.fullmatch(r"\s*([+-]?[0-9.]+(?:[eE][+-]?[0-9]+)?)([a-zA-Z]*)\s*", str(value))
    if not m or m.group(2) not in _SUFFIX:
        return Decimal(0)
    try:
        return Decimal(m.group(1)) * Decimal(_SUFFIX[m.group(2)])
    except InvalidOperation:
        return Decimal(0)


def pod_qos(pod: dict[str, Any]) -> str:
    """describe.go: the status's qosClass, else GetPodQOS of the spec."""
    return (pod.get("status") or {}).get("qosClass") or qos_class(pod.get("spec") or {})


# -- metadata blocks ----------------------------------------------------------------------------

def _labels_multiline(w: PrefixWriter, title: str, labels: dict[str, str] | None) -> None:
    """describe.go printLabelsMultilineWithIndent with no indent."""
    w.write(LEVEL_0, f"{title}:\t")
    keys = sorted(labels or {})
    if not keys:
        w.write_line("<none>")
        return
    for i, key in enumerate(keys):
        if i != 0:
            w.write(LEVEL_0, "\t")
        w.write(LEVEL_0, f"{key}={labels[key]}\n")  # type: ignore[index]


def _shorten(s: str, n: int) -> str:
    return s[:n] + "..." if len(s) > n else s


def _annotations_multiline(w: PrefixWriter, title: str, annotations: dict[str, str] | None) -> None:
    """describe.go printAnnotationsMultiline: long or multi-line values go on their own lines."""
    w.write(LEVEL_0, f"{title}:\t")
    keys = sorted(k for k in (annotations or {}) if k not in _SKIP_ANNOTATIONS)
    if not keys:
        w.write_line("<none>")
        return
    indent = "\t"
    for i, key in enumerate(keys):
        if i != 0:
            w.write(LEVEL_0, indent)
        value = str(annotations[key]).removesuffix("\n")  # type: ignore[index]
        if len(value) + len(key) + 2 > _MAX_ANNOTATION_LEN or "\n" in value:
            w.write(LEVEL_0, f"{key}:\n")
            for s in value.split("\n"):
                w.write(LEVEL_0, f"{indent}  {_shorten(s, _MAX_ANNOTATION_LEN - 2)}\n")
        else:
            w.write(LEVEL_0, f"{key}: {value}\n")


def _tolerations_multiline(w: PrefixWriter, title: str, tolerations: list[dict[str, Any]] | None) -> None:
    """describe.go printTolerationsMultilineWithIndent."""
    w.write(LEVEL_0, f"{title}:\t")
    if not tolerations:
        w.write_line("<none>")
        return
    for i, t in enumerate(sorted(tolerations, key=lambda t: t.get("key") or "")):
        if i != 0:
            w.write(LEVEL_0, "\t")
        key, value, effect = t.get("key") or "", t.get("value") or "", t.get("effect") or ""
        text = key
        if value:
            text += f"={value}"
        if effect:
            text += f":{effect}"
        # `operator: Exists` without a value tolerates everything
        if t.get("operator") == "Exists" and not value:
            text += " op=Exists" if key or effect else "op=Exists"
        if t.get("tolerationSeconds") is not None:
            text += f" for {int(t['tolerationSeconds'])}s"
        w.write(LEVEL_0, text + "\n")


# -- containers ---------------------------------------------------------------------------------

def _ports(ports: list[dict[str, Any]], field: str) -> str:
    return ", ".join(f"{int(p.get(field) or 0)}/{p.get('protocol') or 'TCP'}" for p in ports)


def _describe_status(w: PrefixWriter, name: str, state: dict[str, Any], tz: dt.tzinfo | None) -> None:
    """describe.go describeStatus."""
    if state.get("running") is not None:
        w.write(LEVEL_2, f"{name}:\tRunning\n")
        w.write(LEVEL_3, f"Started:\t{format_time(state['running'].get('startedAt'), tz)}\n")
    elif state.get("waiting") is not None:
        w.write(LEVEL_2, f"{name}:\tWaiting\n")
        if state["waiting"].get("reason"):
            w.write(LEVEL_3, f"Reason:\t{state['waiting']['reason']}\n")
    elif state.get("terminated") is not None:
        term = state["terminated"]
        w.write(LEVEL_2, f"{name}:\tTerminated\n")
        if term.get("reason"):
            w.write(LEVEL_3, f"Reason:\t{term['reason']}\n")
        if term.get("message"):
            w.write(LEVEL_3, f"Message:\t{term['message']}\n")
        w.write(LEVEL_3, f"Exit Code:\t{int(term.get('exitCode') or 0)}\n")
        if int(term.get("signal") or 0) > 0:
            w.write(LEVEL_3, f"Signal:\t{int(term['signal'])}\n")
        w.write(LEVEL_3, f"Started:\t{format_time(term.get('startedAt'), tz)}\n")
        w.write(LEVEL_3, f"Finished:\t{format_time(term.get('finishedAt'), tz)}\n")
    else:
        w.write(LEVEL_2, f"{name}:\tWaiting\n")


def _field_ref_value(pod: dict[str, Any], path: str) -> str:
    """The few downward-API field paths describe's EnvValueRetriever resolves for pods."""
    meta, spec, status = pod.get("metadata") or {}, pod.get("spec") or {}, pod.get("status") or {}
    m = re.fullmatch(r"metadata\.(labels|annotations)\['(.*)'\]", path)
    if m:
        return str((meta.get(m.group(1)) or {}).get(m.group(2), ""))
    simple = {
        "metadata.name": meta.get("name"), "metadata.namespace": meta.get("namespace"),
        "metadata.uid": meta.get("uid"), "spec.nodeName": spec.get("nodeName"),
        "spec.serviceAccountName": spec.get("serviceAccountName"),
        "status.hostIP": status.get("hostIP"), "status.podIP": status.get("podIP"),
    }
    return str(simple.get(path) or "")


def _describe_env(w: PrefixWriter, pod: dict[str, Any], c: dict[str, Any]) -> None:
    """describe.go describeContainerEnvFrom + describeContainerEnvVars."""
    if c.get("envFrom"):
        w.write(LEVEL_2, "Environment Variables from:\n")
        for e in c["envFrom"]:
            ref, kind = (e.get("configMapRef"), "ConfigMap") if e.get("configMapRef") else (e.get("secretRef"), "Secret")
            ref = ref or {}
            optional = _go_bool(ref.get("optional"))
            if e.get("prefix"):
                w.write(LEVEL_3, f"{ref.get('name', '')}\t{kind} with prefix '{e['prefix']}'\tOptional: {optional}\n")
            else:
                w.write(LEVEL_3, f"{ref.get('name', '')}\t{kind}\tOptional: {optional}\n")
    env = c.get("env") or []
    w.write(LEVEL_2, "Environment:" + ("" if env else "\t<none>") + "\n")
    for e in env:
        name = e.get("name", "")
        vf = e.get("valueFrom")
        if vf is None:
            for i, s in enumerate(str(e.get("value") or "").split("\n")):
                w.write(LEVEL_3, f"{name}:\t{s}\n" if i == 0 else f"\t{s}\n")
        elif vf.get("fieldRef") is not None:
            ref = vf["fieldRef"]
            value = _field_ref_value(pod, ref.get("fieldPath", ""))
            w.write(LEVEL_3, f"{name}:\t{value} ({ref.get('apiVersion') or 'v1'}:{ref.get('fieldPath', '')})\n")
        elif vf.get("resourceFieldRef") is not None:
            resource = vf["resourceFieldRef"].get("resource", "")
            kind, _, rname = resource.partition(".")
            value = str(((c.get("resources") or {}).get(kind) or {}).get(rname, "0"))
            if value == "0" and resource in ("limits.cpu", "limits.memory"):
                value = "node allocatable"
            w.write(LEVEL_3, f"{name}:\t{value} ({resource})\n")
        elif vf.get("secretKeyRef") is not None:
            ref = vf["secretKeyRef"]
            w.write(LEVEL_3, f"{name}:\t<set to the key '{ref.get('key', '')}' in secret '{ref.get('name', '')}'>"
                             f"\tOptional: {_go_bool(ref.get('optional'))}\n")
        elif vf.get("configMapKeyRef") is not None:
            ref = vf["configMapKeyRef"]
            w.write(LEVEL_3, f"{name}:\t<set to the key '{ref.get('key', '')}' of config map '{ref.get('name', '')}'>"
                             f"\tOptional: {_go_bool(ref.get('optional'))}\n")


def _describe_containers(w: PrefixWriter, pod: dict[str, Any], label: str, containers: list[dict[str, Any]],
                         statuses: list[dict[str, Any]], tz: dt.tzinfo | None) -> None:
    """describe.go describeContainers (space "": top-level pod, not a template)."""
    by_name = {s.get("name"): s for s in statuses}
    w.write(LEVEL_0, f"{label}:{'' if containers else ' <none>'}\n")
    for c in containers:
        st = by_name.get(c.get("name"))
        # describeContainerBasicInfo
        w.write(LEVEL_1, f"{c.get('name', '')}:\n")
        if st is not None:
            w.write(LEVEL_2, f"Container ID:\t{st.get('containerID') or ''}\n")
        w.write(LEVEL_2, f"Image:\t{c.get('image') or ''}\n")
        if st is not None:
            w.write(LEVEL_2, f"Image ID:\t{st.get('imageID') or ''}\n")
        ports = _ports(c.get("ports") or [], "containerPort")
        w.write(LEVEL_2, f"Ports:\t{ports}\n" if "," in ports else f"Port:\t{ports or '<none>'}\n")
        host_ports = _ports(c.get("ports") or [], "hostPort")
        w.write(LEVEL_2, f"Host Ports:\t{host_ports}\n" if "," in host_ports
                else f"Host Port:\t{host_ports or '<none>'}\n")
        # describeContainerCommand
        for title, key in (("Command", "command"), ("Args", "args")):
            if c.get(key):
                w.write(LEVEL_2, f"{title}:\n")
                for item in c[key]:
                    for s in str(item).split("\n"):
                        w.write(LEVEL_3, f"{s}\n")
        # describeContainerState
        if st is not None:
            _describe_status(w, "State", st.get("state") or {}, tz)
            last = st.get("lastState") or {}
            if last.get("terminated") is not None:
                _describe_status(w, "Last State", last, tz)
            w.write(LEVEL_2, f"Ready:\t{_print_bool(st.get('ready'))}\n")
            w.write(LEVEL_2, f"Restart Count:\t{int(st.get('restartCount') or 0)}\n")
        # describeResources
        res = c.get("resources") or {}
        for title, key in (("Limits", "limits"), ("Requests", "requests")):
            if res.get(key):
                w.write(LEVEL_2, f"{title}:\n")
                for name in sorted(res[key]):
                    w.write(LEVEL_3, f"{name}:\t{res[key][name]}\n")
        # describeContainerProbe
        for title, key in (("Liveness", "livenessProbe"), ("Readiness", "readinessProbe"),
                           ("Startup", "startupProbe")):
            if c.get(key) is not None:
                w.write(LEVEL_2, f"{title}:\t{describe_probe(c[key])}\n")
        _describe_env(w, pod, c)
        # describeContainerVolumes
        mounts = c.get("volumeMounts") or []
        w.write(LEVEL_2, "Mounts:" + ("" if mounts else "\t<none>") + "\n")
        for m in sorted(mounts, key=lambda m: m.get("mountPath") or ""):
            flags = ["ro" if m.get("readOnly") else "rw"]
            if m.get("subPath"):
                flags.append('path="%s"' % m["subPath"].replace("\\", "\\\\").replace('"', '\\"'))
            w.write(LEVEL_3, f"{m.get('mountPath', '')} from {m.get('name', '')} ({','.join(flags)})\n")


# -- volumes ------------------------------------------------------------------------------------

def _describe_volumes(w: PrefixWriter, volumes: list[dict[str, Any]]) -> None:
    """describe.go describeVolumes for the sources podrun supports (others: the Type line)."""
    if not volumes:
        w.write(LEVEL_0, "Volumes:\t<none>\n")
        return
    w.write(LEVEL_0, "Volumes:\n")
    for v in volumes:
        w.write(LEVEL_1, f"{v.get('name', '')}:\n")
        if v.get("hostPath") is not None:
            hp = v["hostPath"]
            hp_type = hp["type"] if hp.get("type") is not None else "<none>"
            w.write(LEVEL_2, "Type:\tHostPath (bare host directory volume)\n"
                             f"    Path:\t{hp.get('path', '')}\n"
                             f"    HostPathType:\t{hp_type}\n")
        elif v.get("emptyDir") is not None:
            ed = v["emptyDir"]
            size = ed.get("sizeLimit")
            size_str = str(size) if size is not None and _quantity(size) > 0 else "<unset>"
            w.write(LEVEL_2, "Type:\tEmptyDir (a temporary directory that shares a pod's lifetime)\n"
                             f"    Medium:\t{ed.get('medium') or ''}\n"
                             f"    SizeLimit:\t{size_str}\n")
        elif v.get("configMap") is not None:
            cm = v["configMap"]
            w.write(LEVEL_2, "Type:\tConfigMap (a volume populated by a ConfigMap)\n"
                             f"    Name:\t{cm.get('name', '')}\n"
                             f"    Optional:\t{_go_bool(cm.get('optional'))}\n")
        elif v.get("secret") is not None:
            sec = v["secret"]
            w.write(LEVEL_2, "Type:\tSecret (a volume populated by a Secret)\n"
                             f"    SecretName:\t{sec.get('secretName', '')}\n"
                             f"    Optional:\t{_go_bool(sec.get('optional'))}\n")
        else:
            w.write(LEVEL_1, "<unknown>\n")


# -- events -------------------------------------------------------------------------------------

def _describe_events(w: PrefixWriter, events: list[dict[str, Any]], now: float) -> None:
    """describe.go DescribeEvents: sorted by lastTimestamp, repeats folded as (xN over M)."""
    if not events:
        w.write(LEVEL_0, "Events:\t<none>\n")
        return
    w.write(LEVEL_0, "Events:\n  Type\tReason\tAge\tFrom\tMessage\n")
    w.write(LEVEL_1, "----\t------\t----\t----\t-------\n")

    def last_ts(e: dict[str, Any]) -> float:
        ts = timestamp(e.get("lastTimestamp"))
        return ts if ts is not None else float("-inf")

    for e in sorted(events, key=last_ts):
        first = age(e.get("eventTime"), now) if e.get("eventTime") else age(e.get("firstTimestamp"), now)
        series = e.get("series")
        if series:
            interval = f"{age(series.get('lastObservedTime'), now)} (x{int(series.get('count') or 0)} over {first})"
        elif int(e.get("count") or 0) > 1:
            interval = f"{age(e.get('lastTimestamp'), now)} (x{int(e['count'])} over {first})"
        else:
            interval = first
        source = (e.get("source") or {}).get("component") or e.get("reportingController") or ""
        w.write(LEVEL_1, f"{e.get('type') or ''}\t{e.get('reason') or ''}\t{interval}\t{source}\t"
                         f"{(e.get('message') or '').strip()}\n")


# -- the pod ------------------------------------------------------------------------------------

def describe_pod(pod: dict[str, Any], events: list[dict[str, Any]] | None, now: float,
                 tz: dt.tzinfo | None = None) -> str:
    """`kubectl describe pod` text for a v1 Pod and its events (None: no Events section).

    Times print in the local zone like kubectl; pass `tz` to pin it (tests).
    """
    meta, spec, status = pod.get("metadata") or {}, pod.get("spec") or {}, pod.get("status") or {}
    w = PrefixWriter()
    w.write(LEVEL_0, f"Name:\t{meta.get('name', '')}\n")
    w.write(LEVEL_0, f"Namespace:\t{meta.get('namespace') or 'default'}\n")
    if spec.get("priority") is not None:
        w.write(LEVEL_0, f"Priority:\t{int(spec['priority'])}\n")
    if spec.get("priorityClassName"):
        w.write(LEVEL_0, f"Priority Class Name:\t{spec['priorityClassName']}\n")
    if spec.get("runtimeClassName"):
        w.write(LEVEL_0, f"Runtime Class Name:\t{spec['runtimeClassName']}\n")
    if spec.get("serviceAccountName"):
        w.write(LEVEL_0, f"Service Account:\t{spec['serviceAccountName']}\n")
    if not spec.get("nodeName"):
        w.write(LEVEL_0, "Node:\t<none>\n")
    else:
        w.write(LEVEL_0, f"Node:\t{spec['nodeName']}/{status.get('hostIP') or ''}\n")
    if status.get("startTime"):
        w.write(LEVEL_0, f"Start Time:\t{format_time(status['startTime'], tz)}\n")
    _labels_multiline(w, "Labels", meta.get("labels"))
    _annotations_multiline(w, "Annotations", meta.get("annotations"))
    phase = status.get("phase") or ""
    if meta.get("deletionTimestamp") and phase not in ("Failed", "Succeeded"):
        # kubectl counts from deletionTimestamp, which lies in the future while the grace runs
        w.write(LEVEL_0, f"Status:\tTerminating (lasts {age(meta['deletionTimestamp'], now)})\n")
        grace = meta.get("deletionGracePeriodSeconds", spec.get("terminationGracePeriodSeconds", 30))
        w.write(LEVEL_0, f"Termination Grace Period:\t{int(grace)}s\n")
    else:
        w.write(LEVEL_0, f"Status:\t{phase}\n")
    if status.get("reason"):
        w.write(LEVEL_0, f"Reason:\t{status['reason']}\n")
    if status.get("message"):
        w.write(LEVEL_0, f"Message:\t{status['message']}\n")
    w.write(LEVEL_0, f"IP:\t{status.get('podIP') or ''}\n")
    ips = status.get("podIPs") or []
    if not ips:
        w.write(LEVEL_0, "IPs:\t<none>\n")
    else:
        w.write(LEVEL_0, "IPs:\n")
        for ip in ips:
            w.write(LEVEL_1, f"IP:\t{ip.get('ip', '')}\n")
    for ref in meta.get("ownerReferences") or []:
        if ref.get("controller"):
            w.write(LEVEL_0, f"Controlled By:\t{ref.get('kind', '')}/{ref.get('name', '')}\n")
            break
    if status.get("nominatedNodeName"):
        w.write(LEVEL_0, f"NominatedNodeName:\t{status['nominatedNodeName']}\n")
    if spec.get("initContainers"):
        _describe_containers(w, pod, "Init Containers", spec["initContainers"],
                             status.get("initContainerStatuses") or [], tz)
    _describe_containers(w, pod, "Containers", spec.get("containers") or [],
                         status.get("containerStatuses") or [], tz)
    conditions = status.get("conditions") or []
    if spec.get("readinessGates"):
        w.write(LEVEL_0, "Readiness Gates:\n  Type\tStatus\n")
        for gate in spec["readinessGates"]:
            gstatus = next((c.get("status") for c in conditions
                            if c.get("type") == gate.get("conditionType")), "<none>")
            w.write(LEVEL_1, f"{gate.get('conditionType', '')} \t{gstatus} \n")
    if conditions:
        w.write(LEVEL_0, "Conditions:\n  Type\tStatus\n")
        for c in conditions:
            w.write(LEVEL_1, f"{c.get('type', '')} \t{c.get('status', '')} \n")
    _describe_volumes(w, spec.get("volumes") or [])
    w.write(LEVEL_0, f"QoS Class:\t{pod_qos(pod)}\n")
    _labels_multiline(w, "Node-Selectors", spec.get("nodeSelector"))
    _tolerations_multiline(w, "Tolerations", spec.get("tolerations"))
    if events is not None:
        _describe_events(w, events, now)
    return w.render()
