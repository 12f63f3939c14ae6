"""port-forward's arguments as kubectl reads them (cli/port_forward.py)."""
from __future__ import annotations

import pytest

from podrun.cli.port_forward import parse_ports, resolve_addresses
from podrun.errors import PodrunError


def test_port_specs_local_remote_same_and_random():
    got = [(m.local, m.remote) for m in parse_ports(["8080:80", "9000", ":81", "0:82", "8081:http"])]
    assert got == [(8080, 80), (9000, 9000), (0, 81), (0, 82), (8081, "http")]


def test_out_of_range_ports_are_refused():
    for spec in ("8080:0", "8080:70000", "99999:80", "x:80"):
        with pytest.raises(PodrunError):
            parse_ports([spec])


def test_localhost_means_both_loopbacks_and_lists_are_split():
    assert resolve_addresses(("localhost",)) == ["127.0.0.1", "::1"]
    assert resolve_addresses(("127.0.0.1,0.0.0.0", "127.0.0.1")) == ["127.0.0.1", "0.0.0.0"]
