"""terminated.message: file first, log tail on error (kuberuntime_container.go; e2e runtime.go)."""
import pytest

from podrun.lifecycle.termination_message import (
    normalize_message_limit, parse_cri_line, read_termination_message)

TS = "2024-01-01T00:00:00.000000001Z"


def _cri(*entries):
    """CRI log text from (stream, tag, content) tuples."""
    return "".join(f"{TS} {stream} {tag} {content}\n" for stream, tag, content in entries)


@pytest.fixture
def files(tmp_path):
    def make(message=None, log=None):
        msg_path, log_path = tmp_path / "termination-log", tmp_path / "0.log"
        if message is not None:
            msg_path.write_bytes(message if isinstance(message, bytes) else message.encode())
        if log is not None:
            log_path.write_text(log)
        return str(msg_path), str(log_path)
    return make


# e2e runtime.go "on terminated container" cases: (policy, file, log, exit code, expected)
E2E_CASES = [
    ("file_with_done", "File", "DONE", "", 0, "DONE"),
    ("fallback_used_on_error", "FallbackToLogsOnError", "", _cri(("stdout", "P", "DONE")), 1, "DONE"),
    ("fallback_not_used_on_success", "FallbackToLogsOnError", "", _cri(("stdout", "F", "DONE")), 0, ""),
    ("file_wins_over_log", "FallbackToLogsOnError", "OK", _cri(("stdout", "F", "DONE")), 0, "OK"),
    ("file_wins_over_log_on_error", "FallbackToLogsOnError", "OK", _cri(("stdout", "F", "DONE")), 1, "OK"),
    ("file_policy_never_reads_logs", "File", "", _cri(("stdout", "F", "DONE")), 1, ""),
]


@pytest.mark.parametrize("name,policy,message,log,exit_code,expected", E2E_CASES,
                         ids=[c[0] for c in E2E_CASES])
def test_termination_message_e2e_cases(files, name, policy, message, log, exit_code, expected):
    msg_path, log_path = files(message, log)
    assert read_termination_message(msg_path, policy, exit_code, log_path) == expected


def test_missing_file_falls_back_on_error(files):
    msg_path, log_path = files(None, _cri(("stderr", "F", "boom")))
    assert read_termination_message(msg_path, "FallbackToLogsOnError", 2, log_path) == "boom\n"
    assert read_termination_message(msg_path, "File", 2, log_path) == ""


def test_file_keeps_its_last_4096_bytes(files):
    msg_path, log_path = files(b"x" * 100 + b"y" * 4096)
    assert read_termination_message(msg_path, "File", 0, None) == "y" * 4096


def test_log_fallback_joins_partial_lines_and_strips_the_cri_prefix(files):
    log = _cri(("stdout", "P", "hel"), ("stdout", "P", "lo "), ("stdout", "F", "world"),
               ("stderr", "F", "second line"), ("stdout", "F", ""))
    msg_path, log_path = files("", log)
    assert read_termination_message(msg_path, "FallbackToLogsOnError", 1, log_path) == \
        "hello world\nsecond line\n\n"


def test_log_fallback_keeps_last_80_lines(files):
    msg_path, log_path = files("", _cri(*[("stdout", "F", f"l{i}") for i in range(100)]))
    got = read_termination_message(msg_path, "FallbackToLogsOnError", 1, log_path)
    assert got.splitlines() == [f"l{i}" for i in range(20, 100)]


def test_log_fallback_keeps_last_2048_bytes(files):
    msg_path, log_path = files("", _cri(*[("stdout", "F", "a" * 99) for _ in range(50)]))
    got = read_termination_message(msg_path, "FallbackToLogsOnError", 1, log_path)
    assert got == (("a" * 99 + "\n") * 50)[-2048:]


def test_missing_log_gives_empty_message(files):
    msg_path, _ = files("")
    assert read_termination_message(msg_path, "FallbackToLogsOnError", 1, None) == ""


def test_parse_cri_line():
    assert parse_cri_line(f"{TS} stdout F a b  c\n".encode()) == (b"a b  c", False)
    assert parse_cri_line(f"{TS} stderr P part".encode()) == (b"part", True)
    assert parse_cri_line(f"{TS} stdout F".encode()) == (b"", False)


@pytest.mark.parametrize("n,limit", [(1, 12288), (2, 6144), (3, 4096), (5, 2457), (0, 12288)])
def test_message_limit_is_shared_by_all_containers(n, limit):
    assert normalize_message_limit(n) == limit
