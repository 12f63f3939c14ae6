"""`podrun top`: kubectl's metrics printer (kubectl/pkg/metricsutil/metrics_printer.go, its
expected outputs in metrics_printer_test.go) and top_pod.go's flags and errors, driven with
hand-written metrics.k8s.io/v1beta1 objects and a fake client passed in the context."""
from __future__ import annotations

import time

import pytest
from click.testing import CliRunner

from podrun.cli.top import node_allocatable, node_metrics, parse_cpu_times, parse_meminfo, top
from podrun.client import ApiError
from podrun.clock import rfc3339
from podrun.errors import PodrunError
from podrun.printers.top import go_duration, node_metrics_table, pod_metrics_table, pod_usage


# -- builders ---------------------------------------------------------------------------------

def metrics(name: str, *containers: tuple[str, str, str], namespace: str = "default") -> dict:
    """A PodMetrics; each container is (name, cpu, memory) as Kubernetes serialises them."""
    return {"kind": "PodMetrics", "apiVersion": "metrics.k8s.io/v1beta1",
            "metadata": {"name": name, "namespace": namespace, "labels": {"app": name}},
            "timestamp": "2026-11-23T19:00:00Z", "window": "1s",
            "containers": [{"name": c, "usage": {"cpu": cpu, "memory": mem}} for c, cpu, mem in containers]}


def pod(name: str, age: float, namespace: str = "default") -> dict:
    return {"apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": name, "namespace": namespace, "creationTimestamp": rfc3339(time.time() - age)}}


TEST = metrics("test", ("container1", "0.2", "1Gi"), ("container2", "0.2", "1Gi"))
TEST_1 = metrics("test-1", ("container1", "0.2", "3Gi"), ("container2", "0.2", "2Gi"))


# -- the table --------------------------------------------------------------------------------

def test_a_pod_is_the_sum_of_its_containers_and_every_column_is_padded():
    assert pod_metrics_table([TEST]) == (
        "NAME   CPU(cores)   MEMORY(bytes)   \n"
        "test   400m         2048Mi          \n")


def test_containers_prints_a_pod_column_and_one_row_per_container():
    assert pod_metrics_table([TEST], containers=True) == (
        "POD    NAME         CPU(cores)   MEMORY(bytes)   \n"
        "test   container1   200m         1024Mi          \n"
        "test   container2   200m         1024Mi          \n")


def test_no_headers_prints_rows_only():
    assert pod_metrics_table([TEST], no_headers=True) == "test   400m   2048Mi   \n"


def test_all_namespaces_adds_namespace_first_and_sorts_by_namespace_then_name():
    items = [metrics("b", ("c", "10m", "1Mi"), namespace="default"),
             metrics("a", ("c", "20m", "2Mi"), namespace="kube-system"),
             metrics("a", ("c", "30m", "3Mi"), namespace="default")]
    assert pod_metrics_table(items, all_namespaces=True) == (
        "NAMESPACE     NAME   CPU(cores)   MEMORY(bytes)   \n"
        "default       a      30m          3Mi             \n"
        "default       b      10m          1Mi             \n"
        "kube-system   a      20m          2Mi             \n")


def test_all_namespaces_with_containers_puts_namespace_then_pod():
    item = metrics("web", ("sidecar", "1m", "1Mi"), ("app", "2m", "2Mi"), namespace="prod")
    assert pod_metrics_table([item], containers=True, all_namespaces=True) == (
        "NAMESPACE   POD   NAME      CPU(cores)   MEMORY(bytes)   \n"
        "prod        web   app       2m           2Mi             \n"
        "prod        web   sidecar   1m           1Mi             \n")


def test_without_sort_by_pods_are_sorted_by_name():
    assert pod_metrics_table([TEST_1, TEST]).splitlines()[1].startswith("test ")


def test_sort_by_memory_puts_the_largest_pod_first():
    assert pod_metrics_table([TEST, TEST_1], sort_by="memory") == (
        "NAME     CPU(cores)   MEMORY(bytes)   \n"
        "test-1   400m         5120Mi          \n"
        "test     400m         2048Mi          \n")


def test_sort_by_cpu_orders_pods_and_the_containers_within_them():
    items = [metrics("idle", ("a", "1m", "1Mi")),
             metrics("busy", ("low", "100m", "1Mi"), ("high", "900m", "1Mi"))]
    out = pod_metrics_table(items, containers=True, sort_by="cpu")
    assert [line.split()[:2] for line in out.splitlines()[1:]] == [
        ["busy", "high"], ["busy", "low"], ["idle", "a"]]


def test_sum_underlines_the_usage_columns_and_prints_the_totals():
    assert pod_metrics_table([TEST, TEST_1], show_sum=True) == (
        "NAME     CPU(cores)   MEMORY(bytes)   \n"
        "test     400m         2048Mi          \n"
        "test-1   400m         5120Mi          \n"
        "         ________     ________        \n"
        "         800m         7168Mi          \n")


def test_sum_with_namespace_and_containers_stays_under_the_usage_columns():
    out = pod_metrics_table([TEST], containers=True, all_namespaces=True, show_sum=True)
    # NAMESPACE 12 + POD 7 + NAME 13 = 32 columns of blanks, then CPU(cores) and MEMORY(bytes)
    assert out.splitlines()[-2:] == [
        " " * 32 + "________     ________        ",
        " " * 32 + "400m         2048Mi          "]


def test_sum_with_no_headers_shifts_like_kubectl_which_counts_columns_from_the_header():
    out = pod_metrics_table([TEST], all_namespaces=True, no_headers=True, show_sum=True)
    # the sum lines have three cells, so the fourth column's block is the first line alone
    assert out == ("default   test       400m       2048Mi   \n"
                   "          ________   ________   \n"
                   "          400m       2048Mi     \n")


def test_no_metrics_print_nothing():
    assert pod_metrics_table([]) == ""


@pytest.mark.parametrize("cpu, memory, cells", [
    ("123456789n", "52428800", ["124m", "50Mi"]),     # nanocores round up like MilliValue()
    ("250000u", "51200Ki", ["250m", "50Mi"]),
    ("1", "1048575", ["1000m", "0Mi"]),               # Value()/MiB truncates
    ("0", "0", ["0m", "0Mi"]),
])
def test_quantities_print_as_millicores_and_mebibytes(cpu, memory, cells):
    out = pod_metrics_table([metrics("p", ("c", cpu, memory))], no_headers=True)
    assert out.split() == ["p"] + cells


def test_usage_is_summed_exactly_before_rounding():
    item = metrics("p", ("a", "400000n", "1"), ("b", "400000n", "1"))
    assert pod_metrics_table([item], no_headers=True).split()[1] == "1m"
    assert pod_usage(metrics("empty")) == (0, 0)


def test_a_container_without_usage_counts_as_zero():
    item = metrics("p", ("a", "5m", "1Mi"))
    item["containers"].append({"name": "b", "usage": {}})
    assert pod_metrics_table([item], no_headers=True).split() == ["p", "5m", "1Mi"]


# -- top node ---------------------------------------------------------------------------------

STAT0 = "cpu  100 0 100 700 100 0 0 0 0 0\ncpu0 50 0 50 350 50 0 0 0 0 0\ncpu1 50 0 50 350 50 0 0 0 0 0\nintr 1\n"
STAT1 = "cpu  200 0 200 1100 100 0 0 0 0 0\ncpu0 100 0 100 550 50 0 0 0 0 0\ncpu1 100 0 100 550 50 0 0 0 0 0\n"
MEMINFO = "MemTotal:        4194304 kB\nMemFree:         1048576 kB\nMemAvailable:    3145728 kB\n"


def test_proc_stat_gives_busy_total_and_cpus():
    assert parse_cpu_times(STAT0) == (200, 1000, 2)
    assert parse_meminfo(MEMINFO)["MemAvailable"] == 3145728


def test_node_usage_is_the_busy_share_of_every_cpu_between_two_samples():
    m = node_metrics("vm", STAT0, STAT1, MEMINFO)
    # 200 busy of 600 jiffies on 2 cpus: 0.666.. cores; MemTotal - MemAvailable = 1Gi
    assert m["usage"] == {"cpu": "666666666n", "memory": "1048576Ki"}
    assert node_allocatable(STAT1, MEMINFO) == {"cpu": "2", "memory": "4194304Ki"}


def test_node_table_shows_usage_and_percent_of_allocatable():
    out = node_metrics_table([node_metrics("vm", STAT0, STAT1, MEMINFO)],
                             {"vm": node_allocatable(STAT1, MEMINFO)})
    assert out == ("NAME   CPU(cores)   CPU(%)   MEMORY(bytes)   MEMORY(%)   \n"
                   "vm     667m         33%      1024Mi          25%         \n")


@pytest.mark.parametrize("seconds, text", [
    (300, "5m0s"), (3723.5, "1h2m3.5s"), (59.25, "59.25s"), (0.0015, "1.5ms"), (0, "0s"),
])
def test_ages_print_as_go_durations(seconds, text):
    assert go_duration(seconds) == text


# -- the command, with a fake client ----------------------------------------------------------

class FakeMetricsClient:
    """The two calls `top pod` makes, answering from lists like the daemon would."""

    def __init__(self, items=(), pods=(), error: PodrunError | None = None):
        self.items, self.pods, self.error = list(items), list(pods), error
        self.calls: list[tuple] = []

    def pod_metrics(self, namespace, name=None, selector=""):
        self.calls.append((namespace, name, selector))
        if self.error:
            raise self.error
        found = [m for m in self.items if namespace in (None, m["metadata"]["namespace"])
                 and name in (None, m["metadata"]["name"])]
        if name and not found:
            raise ApiError(404, "NotFound", f'podmetrics.metrics.k8s.io "{namespace}/{name}" not found')
        return found

    def list_pods(self, namespace, selector=""):
        return [p for p in self.pods if namespace in (None, p["metadata"]["namespace"])]


def run_top(fake: FakeMetricsClient, *args: str):
    return CliRunner().invoke(top, list(args), obj={"client": fake})


@pytest.mark.parametrize("word", ["pod", "pods", "po"])
def test_top_pod_prints_the_namespace_table(word):
    fake = FakeMetricsClient([TEST, metrics("other", ("c", "1m", "1Mi"), namespace="prod")])
    result = run_top(fake, word)
    assert result.exit_code == 0, result.output
    assert result.stdout == pod_metrics_table([TEST])
    assert fake.calls == [("default", None, "")]


def test_top_pod_flags_reach_the_client_and_the_printer():
    fake = FakeMetricsClient([TEST, TEST_1])
    result = run_top(fake, "pod", "-A", "-l", "app=test", "--containers", "--sort-by=memory", "--sum")
    assert fake.calls == [(None, None, "app=test")]
    assert result.stdout == pod_metrics_table([TEST, TEST_1], containers=True, all_namespaces=True,
                                              sort_by="memory", show_sum=True)


def test_top_pod_name_asks_for_that_pod_only():
    fake = FakeMetricsClient([TEST, TEST_1])
    result = run_top(fake, "pod", "test-1", "-n", "default", "--no-headers")
    assert fake.calls == [("default", "test-1", "")]
    assert result.stdout == "test-1   400m   5120Mi   \n"


def test_a_missing_pod_is_the_servers_not_found():
    result = run_top(FakeMetricsClient([TEST]), "pod", "nope")
    assert str(result.exception) == 'Error from server (NotFound): podmetrics.metrics.k8s.io "default/nope" not found'


def test_young_pods_without_metrics_say_not_available_yet():
    result = run_top(FakeMetricsClient([], [pod("web", age=10)]), "pod")
    assert str(result.exception) == "metrics not available yet"


def test_a_pod_older_than_two_minutes_without_metrics_is_named_with_its_age():
    result = run_top(FakeMetricsClient([], [pod("web", age=300)]), "pod")
    assert str(result.exception).startswith("Metrics not available for pod default/web, age: 5m0")


@pytest.mark.parametrize("args, message", [
    (["pod"], "No resources found in default namespace.\n"),
    (["pod", "-n", "prod"], "No resources found in prod namespace.\n"),
    (["pod", "-A"], "No resources found\n"),
])
def test_no_pods_at_all_is_no_resources_found_and_success(args, message):
    result = run_top(FakeMetricsClient(), *args)
    assert result.exit_code == 0 and result.stdout == "" and result.stderr == message


def test_a_daemon_without_the_metrics_api_says_so():
    result = run_top(FakeMetricsClient(error=ApiError(404, "InternalError", "404: Not Found")), "pod")
    assert str(result.exception) == "Metrics API not available"


@pytest.mark.parametrize("args, message", [
    (["pod", "--sort-by=disk"], "--sort-by accepts only cpu or memory"),
    (["pod", "web", "-l", "app=web"], "only one of NAME or selector can be provided"),
    (["pod", "a", "b", "c"], "unexpected arguments: [b c]"),
    (["deployments"], 'unknown command "deployments"'),
    (["node", "--sort-by=disk"], "--sort-by accepts only cpu or memory"),
])
def test_bad_arguments_get_kubectls_errors(args, message):
    fake = FakeMetricsClient([TEST])
    result = run_top(fake, *args)
    assert isinstance(result.exception, PodrunError) and str(result.exception) == message
    assert fake.calls == []


def test_top_alone_prints_its_help_and_fails():
    result = run_top(FakeMetricsClient())
    assert result.exit_code == 1 and "pod" in result.stderr and "node" in result.stderr


def test_every_verb_shows_an_example_in_its_help():
    for args in (["--help"], ["pod", "--help"], ["node", "--help"]):
        out = run_top(FakeMetricsClient(), *args).stdout
        assert "Example" in out and "podrun top" in out
