"""`podrun completion`: the installed `podrun` prints click's script, a real bash sources it
and completes verbs, flags and (from a real daemon) pod names; other shells get kubectl's error."""
from __future__ import annotations

import os
import shutil
import subprocess
import sys

import pytest

from helpers import as_yaml, pod, sh

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
# the console script pip installed next to this interpreter: the `podrun` a user's shell runs
BIN_DIR = os.path.dirname(sys.executable)


def shell_env(extra: dict | None = None) -> dict:
    """`podrun` on PATH, importing this checkout, never starting a daemon."""
    env = dict(os.environ, **(extra or {}))
    env["PATH"] = BIN_DIR + os.pathsep + env.get("PATH", "")
    env["PYTHONPATH"] = REPO + os.pathsep + env.get("PYTHONPATH", "")
    env.setdefault("PODRUN_NO_AUTOSTART", "1")
    return env


def podrun_completion(shell: str, env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(["podrun", "completion", shell], env=env or shell_env(), capture_output=True,
                          text=True, timeout=60)


def bash_complete(script: str, words: list[str], env: dict | None = None) -> list[str]:
    """Source the script in a real bash, then do what TAB does: set COMP_WORDS/COMP_CWORD and
    call the function `complete -p podrun` names; print COMPREPLY one per line."""
    program = script + """
spec=$(complete -p podrun) || exit 3
func=${spec##*-F }; func=${func%% *}
COMP_WORDS=("$@"); COMP_CWORD=$(( $# - 1 ))
"$func" podrun
printf '%s\\n' "${COMPREPLY[@]}"
"""
    out = subprocess.run(["bash", "--norc", "--noprofile", "-c", program, "bash", *words],
                         env=env or shell_env(), capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    return [line for line in out.stdout.splitlines() if line]


@pytest.fixture(scope="module")
def bash_script() -> str:
    out = podrun_completion("bash")
    assert out.returncode == 0, out.stderr
    return out.stdout


def test_bash_script_registers_a_completion_function_for_podrun(bash_script):
    assert "_PODRUN_COMPLETE=bash_complete" in bash_script
    assert "complete -o nosort -F _podrun_completion podrun" in bash_script


def test_bash_completes_verbs(bash_script):
    assert bash_complete(bash_script, ["podrun", "ge"]) == ["get"]
    assert {"apply", "completion", "top", "logs"} <= set(bash_complete(bash_script, ["podrun", ""]))


def test_bash_completes_subcommands_and_flags(bash_script):
    assert bash_complete(bash_script, ["podrun", "top", "p"]) == ["pod"]
    assert set(bash_complete(bash_script, ["podrun", "top", "pod", "--s"])) == {"--selector", "--sort-by", "--sum"}
    assert bash_complete(bash_script, ["podrun", "completion", "z"]) == ["zsh"]


def test_the_completion_protocol_answers_without_a_shell():
    env = shell_env({"_PODRUN_COMPLETE": "bash_complete", "COMP_WORDS": "podrun ge", "COMP_CWORD": "1"})
    out = subprocess.run(["podrun"], env=env, capture_output=True, text=True, timeout=60)
    assert out.returncode == 0 and out.stdout.splitlines() == ["plain,get"], out.stderr


def test_pod_names_without_a_daemon_complete_to_nothing_and_start_none(tmp_path, bash_script):
    env = shell_env({"PODRUN_ROOT": str(tmp_path), "PODRUN_NO_AUTOSTART": "0"})
    for var in ("PODRUN_RUN_ROOT", "PODRUN_LIB_ROOT", "PODRUN_LOG_ROOT"):
        env.pop(var, None)
    assert bash_complete(bash_script, ["podrun", "top", "pod", ""], env) == []
    assert not os.path.exists(tmp_path / "run" / "podrun.sock")


def test_pod_names_come_from_the_daemon(podrun, bash_script):
    podrun.apply_text(as_yaml(pod("compl-web", sh("main", "sleep 3600")),
                              pod("compl-db", sh("main", "sleep 3600"))))
    env = shell_env(podrun.env)
    assert sorted(bash_complete(bash_script, ["podrun", "top", "pod", "compl-"], env)) == ["compl-db", "compl-web"]
    assert bash_complete(bash_script, ["podrun", "top", "pod", "compl-w"], env) == ["compl-web"]
    assert bash_complete(bash_script, ["podrun", "top", "pod", "-n", "elsewhere", "compl-"], env) == []


def test_zsh_script_defines_and_registers_the_function():
    out = podrun_completion("zsh")
    assert out.returncode == 0, out.stderr
    assert out.stdout.startswith("#compdef podrun\n")
    assert "compdef _podrun_completion podrun" in out.stdout
    zsh = shutil.which("zsh")
    if zsh:
        check = subprocess.run([zsh, "-n"], input=out.stdout, capture_output=True, text=True, timeout=60)
        assert check.returncode == 0, check.stderr


def test_fish_script_registers_podrun():
    out = podrun_completion("fish")
    assert out.returncode == 0 and "complete --no-files --command podrun" in out.stdout


@pytest.mark.parametrize("args, message", [
    (["powershell"], 'error: Unsupported shell type "powershell".\n'),
    (["tcsh"], 'error: Unsupported shell type "tcsh".\n'),
    ([], "error: Shell not specified.\n"),
    (["bash", "zsh"], "error: Too many arguments. Expected only the shell type.\n"),
])
def test_other_shells_get_kubectls_error(args, message):
    out = subprocess.run(["podrun", "completion", *args], env=shell_env(), capture_output=True, text=True,
                         timeout=60)
    assert (out.returncode, out.stdout, out.stderr) == (1, "", message)


def test_help_shows_how_to_source_it():
    out = subprocess.run(["podrun", "completion", "--help"], env=shell_env(), capture_output=True, text=True,
                         timeout=60)
    assert "Examples:" in out.stdout and "source <(podrun completion bash)" in out.stdout
