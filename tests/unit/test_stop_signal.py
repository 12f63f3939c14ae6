"""The image's StopSignal is what a kill sends first (containerd StopContainer)."""
from __future__ import annotations

import signal

from podrun.lifecycle.termination import stop_signal
from podrun.images.store import CONFIG_KEYS


def test_stop_signal_by_name_short_name_or_number():
    assert stop_signal({"StopSignal": "SIGQUIT"}) == signal.SIGQUIT
    assert stop_signal({"StopSignal": "quit"}) == signal.SIGQUIT
    assert stop_signal({"StopSignal": "3"}) == signal.SIGQUIT
    assert stop_signal({"StopSignal": "SIGRTMIN+3"}) == signal.SIGTERM  # unknown here: the default
    assert stop_signal({}) == stop_signal(None) == signal.SIGTERM


def test_the_store_keeps_stop_signal():
    assert "StopSignal" in CONFIG_KEYS
