"""The exec probe (pkg/probe/exec/exec.go): the command in the container, exit 0 is success."""
from __future__ import annotations

import asyncio

from podrun.api.expansion import expand_command
from podrun.lifecycle.probes.base import MAX_OUTPUT, ProbeError, ProbeHost, go_quote
from podrun.lifecycle.probes.results import Result

__all__ = ["exec_probe", "expand_static"]


async def exec_probe(host: ProbeHost, probe: dict) -> tuple[Result, str]:
    """Exit 0 → success; else failure with the combined output; timeout → failure (ExecProbeTimeout)."""
    command = expand_static(list(probe["exec"].get("command") or []), host.spec.get("env") or [])
    timeout = float(probe.get("timeoutSeconds") or 1)
    try:
        code, out = await host.exec_in_container(command, timeout)
    except asyncio.TimeoutError:
        # cri remote_runtime.go ExecSync: fmt.Errorf("command %q timed out", strings.Join(cmd, " "))
        return Result.FAILURE, f"command {go_quote(' '.join(command))} timed out"
    except Exception as exc:   # exec could not start: a prober error, not a failed check
        raise ProbeError(str(exc)) from exc
    output = out[:MAX_OUTPUT].decode("utf-8", "replace")
    return (Result.SUCCESS if code == 0 else Result.FAILURE), output


def expand_static(argv: list[str], env: list[dict]) -> list[str]:
    """kubecontainer.ExpandContainerCommandOnlyStatic: $(VAR) from the env entries' `value`
    (v1EnvVarsToMap: an entry with valueFrom maps to its empty value, "")."""
    return expand_command(argv, {e["name"]: str(e.get("value", "")) for e in env})
