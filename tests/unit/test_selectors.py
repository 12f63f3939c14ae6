"""api/selectors.py: label and field selectors as the API server parses and matches them."""
from __future__ import annotations

import pytest

from podrun.api.selectors import EVENT_FIELDS, POD_FIELDS, SelectorError, parse_fields, parse_labels

LABELS = {"app": "web", "tier": "fe", "n": "5"}


@pytest.mark.parametrize("text,match", [
    ("", True), ("app=web", True), ("app==web", True), ("app=db", False),
    ("app!=db", True), ("app!=web", False), ("missing!=x", True),
    ("app in (web, db)", True), ("app in (db)", False), ("app notin (db)", True),
    ("app notin (web,db)", False), ("missing notin (a)", True), ("missing in (a)", False),
    ("app", True), ("missing", False), ("!missing", True), ("!app", False),
    ("app=web,tier=fe", True), ("app=web,tier=be", False), ("app in (web,db),!missing", True),
    ("n>4", True), ("n<5", False), ("missing>1", False), ("example.com/x!=y", True),
])
def test_label_selector_matches(text, match):
    assert parse_labels(text).matches(LABELS) is match


@pytest.mark.parametrize("text", ["app=web,", "-bad=x", "app=bad value", "n>x"])
def test_label_selector_refuses_bad_input(text):
    with pytest.raises(SelectorError):
        parse_labels(text)


POD = {"metadata": {"name": "web", "namespace": "default"}, "spec": {"nodeName": "node1"},
       "status": {"phase": "Running"}}


@pytest.mark.parametrize("text,match", [
    ("metadata.name=web", True), ("metadata.name==web", True), ("metadata.name!=web", False),
    ("metadata.namespace=default,status.phase=Running", True), ("status.phase=Pending", False),
    ("spec.nodeName=node1", True), ("spec.nodeName!=node2", True), ("spec.hostNetwork=false", True),
])
def test_pod_field_selector(text, match):
    assert parse_fields(text, POD_FIELDS).matches(POD, POD_FIELDS) is match


def test_field_selector_escapes_and_pins_a_name():
    sel = parse_fields(r"metadata.name=a\,b", POD_FIELDS)
    assert sel.value("metadata.name") == "a,b" and sel.value("status.phase") is None


def test_unknown_field_is_refused_with_the_apiservers_words():
    with pytest.raises(SelectorError, match="^field label not supported: spec.foo$"):
        parse_fields("spec.foo=1", POD_FIELDS)
    with pytest.raises(SelectorError):
        parse_fields("metadata.name", POD_FIELDS)


def test_event_field_selector_as_describe_sends_it():
    ev = {"metadata": {"name": "e1", "namespace": "default"}, "type": "Normal", "reason": "Pulled",
          "involvedObject": {"kind": "Pod", "name": "web", "namespace": "default", "uid": "u1"}}
    sel = parse_fields("involvedObject.name=web,involvedObject.namespace=default,involvedObject.uid=u1",
                       EVENT_FIELDS)
    assert sel.matches(ev, EVENT_FIELDS)
    assert not parse_fields("involvedObject.uid=u2", EVENT_FIELDS).matches(ev, EVENT_FIELDS)
    assert parse_fields("type!=Warning,involvedObject.kind=Pod", EVENT_FIELDS).matches(ev, EVENT_FIELDS)
