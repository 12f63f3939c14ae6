"""Restart policy and CrashLoopBackOff timing (client-go flowcontrol.Backoff, kubelet doBackOff)."""
import pytest

from podrun.clock import FakeClock
from podrun.lifecycle.restart import (
    BACKOFF_PERIOD, MAX_CONTAINER_BACKOFF, Backoff, backoff_event_message, backoff_key,
    crashloop_message, go_duration, remaining_backoff, should_restart)


@pytest.mark.parametrize("policy,exit_code,is_init,is_sidecar,expected", [
    ("Always", 0, False, False, True),
    ("Always", 1, False, False, True),
    ("OnFailure", 0, False, False, False),
    ("OnFailure", 2, False, False, True),
    ("Never", 0, False, False, False),
    ("Never", 1, False, False, False),
    ("Always", 0, True, False, False),     # an init container that succeeded never re-runs
    ("Always", 1, True, False, True),
    ("OnFailure", 1, True, False, True),
    ("Never", 1, True, False, False),      # init failure under Never fails the pod
    ("Never", 0, True, True, True),        # sidecars restart whatever the pod policy
    ("OnFailure", 0, True, True, True),
])
def test_should_restart_follows_policy(policy, exit_code, is_init, is_sidecar, expected):
    assert should_restart(policy, exit_code, is_init, is_sidecar) is expected


def test_constants_are_the_kubelets():
    assert (BACKOFF_PERIOD, MAX_CONTAINER_BACKOFF) == (10.0, 300.0)


def _crash_loop(clock, backoff, key, run_for, exits):
    """Let a container run `run_for` s then exit, `exits` times; return the wait after each exit."""
    waits = []
    for _ in range(exits):
        clock._now += run_for
        finished = clock.now()
        wait = remaining_backoff(backoff, key, finished)
        waits.append(0.0 if wait is None else wait)
        if wait is not None:
            clock._now += wait
            assert remaining_backoff(backoff, key, finished) is None   # now it starts
    return waits


def test_first_exit_restarts_at_once_then_10_20_40():
    clock = FakeClock()
    backoff = Backoff(clock)
    waits = _crash_loop(clock, backoff, "k", run_for=1, exits=9)
    assert waits == [0, 10, 20, 40, 80, 160, 300, 300, 300]


def test_backoff_is_counted_from_the_exit_not_from_the_check():
    clock = FakeClock()
    backoff = Backoff(clock)
    assert remaining_backoff(backoff, "k", clock.now()) is None        # run 1 exits: start now
    finished = clock.now() + 1
    clock._now = finished + 4                                           # checked 4 s after exit 2
    assert remaining_backoff(backoff, "k", finished) == pytest.approx(6)


def test_backoff_resets_after_ten_minutes_of_running():
    clock = FakeClock()
    backoff = Backoff(clock)
    assert _crash_loop(clock, backoff, "k", run_for=1, exits=4) == [0, 10, 20, 40]
    # Ran 601 s since the last restart: finishedAt - lastUpdate > 2 * 300 s.
    assert _crash_loop(clock, backoff, "k", run_for=601, exits=1) == [0]
    assert backoff.get("k") == 10
    assert _crash_loop(clock, backoff, "k", run_for=1, exits=2) == [10, 20]


def test_backoff_does_not_reset_at_exactly_ten_minutes():
    clock = FakeClock()
    backoff = Backoff(clock)
    _crash_loop(clock, backoff, "k", run_for=1, exits=3)               # 0, 10, 20
    # 600 s is not > 2 x 300 s: the entry lives on, the wait is the next doubling.
    assert _crash_loop(clock, backoff, "k", run_for=600, exits=1) == [40]
    assert backoff.get("k") == 80


def test_backoff_keys_are_independent_and_gc_drops_stale_entries():
    clock = FakeClock()
    backoff = Backoff(clock)
    backoff.next("a", clock.now())
    backoff.next("a", clock.now())
    backoff.next("b", clock.now())
    assert (backoff.get("a"), backoff.get("b"), backoff.get("c")) == (20, 10, 0)
    clock._now += 600
    backoff.gc()
    assert backoff.get("a") == 20                                       # not older than 600 s
    clock._now += 1
    backoff.gc()
    assert backoff.get("a") == 0 and backoff.get("b") == 0


def test_is_in_backoff_since():
    clock = FakeClock()
    backoff = Backoff(clock)
    t = clock.now()
    assert not backoff.is_in_backoff_since("k", t)                     # no entry
    backoff.next("k", t)
    assert backoff.is_in_backoff_since("k", t)
    clock._now += 9.9
    assert backoff.is_in_backoff_since("k", t)
    clock._now += 0.1
    assert not backoff.is_in_backoff_since("k", t)


def test_never_exited_container_is_not_in_backoff():
    backoff = Backoff(FakeClock())
    assert remaining_backoff(backoff, "k", None) is None
    assert backoff.get("k") == 0


def test_backoff_key_changes_with_the_container_spec_only():
    c = {"name": "app", "image": "busybox:1", "command": ["sh"]}
    same = {"command": ["sh"], "image": "busybox:1", "name": "app"}
    assert backoff_key("uid-1", c) == backoff_key("uid-1", same)
    assert backoff_key("uid-1", c) != backoff_key("uid-1", {**c, "image": "busybox:2"})
    assert backoff_key("uid-1", c) != backoff_key("uid-2", c)
    assert "app" in backoff_key("uid-1", c)


@pytest.mark.parametrize("seconds,text", [
    (0, "0s"), (10, "10s"), (20, "20s"), (40, "40s"), (80, "1m20s"), (160, "2m40s"),
    (300, "5m0s"), (3600, "1h0m0s"), (1.5, "1.5s"), (0.5, "500ms"), (90.25, "1m30.25s"),
])
def test_go_duration_formatting(seconds, text):
    assert go_duration(seconds) == text


def test_crashloop_messages_use_format_pod():
    assert crashloop_message(20, "c1", "web", "default", "1234-abcd") == \
        "back-off 20s restarting failed container=c1 pod=web_default(1234-abcd)"
    assert crashloop_message(300, "c1", "web", "ns", "u") == \
        "back-off 5m0s restarting failed container=c1 pod=web_ns(u)"
    assert backoff_event_message("c1", "web", "default", "1234-abcd") == \
        "Back-off restarting failed container c1 in pod web_default(1234-abcd)"
