"""lifecycle/ and daemon/ have no import circle (issue 14): read statically from the source, so
imports under TYPE_CHECKING and inside functions count too."""
from __future__ import annotations

import ast
import os

import podrun

ROOT = os.path.dirname(podrun.__file__)


def _graph() -> dict[str, set[str]]:
    modules: dict[str, set[str]] = {}
    for d, _, files in os.walk(ROOT):
        for f in files:
            if not f.endswith(".py"):
                continue
            path = os.path.join(d, f)
            name = "podrun." + os.path.relpath(path, ROOT)[:-3].replace(os.sep, ".")
            name = name.removesuffix(".__init__")
            deps: set[str] = set()
            for node in ast.walk(ast.parse(open(path).read())):
                if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("podrun"):
                    deps.add(node.module)
                    deps.update(f"{node.module}.{a.name}" for a in node.names)
                elif isinstance(node, ast.Import):
                    deps.update(a.name for a in node.names if a.name.startswith("podrun"))
            modules[name] = deps
    return {m: {d for d in deps if d in modules and d != m} for m, deps in modules.items()}


def _cycle_through(graph: dict[str, set[str]], start: str) -> list[str] | None:
    stack, seen = [(start, [start])], set()
    while stack:
        node, path = stack.pop()
        for nxt in graph.get(node, ()):
            if nxt == start:
                return path + [start]
            if nxt not in seen:
                seen.add(nxt)
                stack.append((nxt, path + [nxt]))
    return None


def test_lifecycle_and_daemon_have_no_import_circle():
    graph = _graph()
    cycles = [c for m in sorted(graph) if m.startswith(("podrun.lifecycle", "podrun.daemon"))
              if (c := _cycle_through(graph, m))]
    assert cycles == []


def test_the_runner_and_the_kill_sequence_do_not_know_the_pod_worker():
    graph = _graph()
    for m in ("podrun.lifecycle.container_runner", "podrun.lifecycle.termination", "podrun.lifecycle.hooks",
              "podrun.lifecycle.probes.manager", "podrun.lifecycle.handle"):
        assert "podrun.lifecycle.pod_worker" not in graph[m], m
    assert "podrun.lifecycle.container_runner" not in graph["podrun.lifecycle.termination"]
