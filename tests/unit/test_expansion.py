"""$(VAR) expansion: the cases of upstream third_party/forked/golang/expansion/expand_test.go."""
import pytest

from podrun.api.expansion import env_list, expand, expand_command, mapping_func_for

CONTEXT = {"VAR_A": "A", "VAR_B": "B", "VAR_C": "C", "VAR_REF": "$(VAR_A)", "VAR_EMPTY": ""}

# (name, input, expected) — doExpansionTest
CASES = [
    ("whole string", "$(VAR_A)", "A"),
    ("repeat", "$(VAR_A)-$(VAR_A)", "A-A"),
    ("beginning", "$(VAR_A)-1", "A-1"),
    ("middle", "___$(VAR_B)___", "___B___"),
    ("end", "___$(VAR_C)", "___C"),
    ("compound", "$(VAR_A)_$(VAR_B)_$(VAR_C)", "A_B_C"),
    ("escape & expand", "$$(VAR_B)_$(VAR_A)", "$(VAR_B)_A"),
    ("compound escape", "$$(VAR_A)_$$(VAR_B)", "$(VAR_A)_$(VAR_B)"),
    ("mixed in escapes", "f000-$$VAR_A", "f000-$VAR_A"),
    ("backslash escape ignored", "foo\\$(VAR_C)bar", "foo\\Cbar"),
    ("backslash escape ignored 2", "foo\\\\$(VAR_C)bar", "foo\\\\Cbar"),
    ("lots of backslashes", "foo\\\\\\\\$(VAR_A)bar", "foo\\\\\\\\Abar"),
    ("nested var references", "$(VAR_A$(VAR_B))", "$(VAR_A$(VAR_B))"),
    ("nested var references second type", "$(VAR_A$(VAR_B)", "$(VAR_A$(VAR_B)"),
    ("value is a reference", "$(VAR_REF)", "$(VAR_A)"),
    ("value is a reference x 2", "%%$(VAR_REF)--$(VAR_REF)%%", "%%$(VAR_A)--$(VAR_A)%%"),
    ("empty var", "foo$(VAR_EMPTY)bar", "foobar"),
    ("unterminated expression", "foo$(VAR_Awhoops!", "foo$(VAR_Awhoops!"),
    ("expression without operator", "f00__(VAR_A)__", "f00__(VAR_A)__"),
    ("shell special vars pass through", "$?_boo_$!", "$?_boo_$!"),
    ("bare operators are ignored", "$VAR_A", "$VAR_A"),
    ("undefined vars are passed through", "$(VAR_DNE)", "$(VAR_DNE)"),
    ("multiple (even) operators, var undefined", "$$$$$$(BIG_MONEY)", "$$$(BIG_MONEY)"),
    ("multiple (even) operators, var defined", "$$$$$$(VAR_A)", "$$$(VAR_A)"),
    ("multiple (odd) operators, var undefined", "$$$$$$$(GOOD_ODDS)", "$$$$(GOOD_ODDS)"),
    ("multiple (odd) operators, var defined", "$$$$$$$(VAR_A)", "$$$A"),
    ("missing open expression", "$VAR_A)", "$VAR_A)"),
    ("shell syntax ignored", "${VAR_A}", "${VAR_A}"),
    ("trailing incomplete expression not consumed", "$(VAR_B)_______$(A", "B_______$(A"),
    ("trailing incomplete expression, no content, is not consumed", "$(VAR_C)_______$(", "C_______$("),
    ("operator at end of input string is preserved", "$(VAR_A)foobarzab$", "Afoobarzab$"),
    ("shell escaped incomplete expr", "foo-\\$(VAR_A", "foo-\\$(VAR_A"),
    ("lots of $( in middle", "--$($($($($--", "--$($($($($--"),
    ("lots of $( in beginning", "$($($($($--foo$(", "$($($($($--foo$("),
    ("lots of $( at end", "foo0--$($($($(", "foo0--$($($($("),
    ("escaped operators in variable names are not escaped", "$(foo$$var)", "$(foo$$var)"),
    ("newline not expanded", "\n", "\n"),
]


@pytest.mark.parametrize("name,given,expected", CASES, ids=[c[0] for c in CASES])
def test_expansion_matches_upstream_case(name, given, expected):
    assert expand(given, CONTEXT) == expected


@pytest.mark.parametrize("name,given,expected", CASES, ids=[c[0] for c in CASES])
def test_expansion_with_two_contexts_matches_upstream_case(name, given, expected):
    # TestMappingDual: the lookup walks the contexts in order.
    mapping = mapping_func_for({"VAR_A": "A", "VAR_EMPTY": ""},
                               {"VAR_B": "B", "VAR_C": "C", "VAR_REF": "$(VAR_A)"})
    assert expand(given, mapping) == expected


def test_mapping_function_returning_none_leaves_the_reference():
    assert expand("$(X)-$(Y)", lambda n: "x" if n == "X" else None) == "x-$(Y)"


def test_env_values_expand_against_earlier_entries_only():
    # TestMapReference, and makeEnvironmentVariables' "earlier entries only" rule.
    env = [{"name": "FOO", "value": "bar"}, {"name": "ZOO", "value": "$(FOO)-1"},
           {"name": "BLU", "value": "$(ZOO)-2"}, {"name": "EARLY", "value": "$(LATE)"},
           {"name": "LATE", "value": "x"}]
    assert env_list(env, {}, {}) == [("FOO", "bar"), ("ZOO", "bar-1"), ("BLU", "bar-1-2"),
                                     ("EARLY", "$(LATE)"), ("LATE", "x")]


def test_env_values_see_base_and_field_refs_are_not_expanded():
    env = [{"name": "FOO", "value": "foo-value"}, {"name": "BAR", "value": "bar-value"},
           {"name": "FOOBAR", "value": "$(FOO);;$(BAR)"},
           {"name": "FROM_BASE", "value": "$(SVC_HOST)"},
           {"name": "POD_NAME", "valueFrom": {"fieldRef": {"fieldPath": "metadata.name"}}},
           {"name": "RAW", "valueFrom": {"fieldRef": {"fieldPath": "metadata.namespace"}}},
           {"name": "USES_POD", "value": "$(POD_NAME)"}]
    got = dict(env_list(env, {"SVC_HOST": "10.0.0.1"},
                        {"metadata.name": "p1", "metadata.namespace": "$(FOO)"}))
    assert got["FOOBAR"] == "foo-value;;bar-value"        # e2e expansion.go
    assert got["FROM_BASE"] == "10.0.0.1"
    assert got["POD_NAME"] == "p1" and got["USES_POD"] == "p1"
    assert got["RAW"] == "$(FOO)"
    assert "SVC_HOST" not in got


def test_command_expands_before_the_shell_sees_it():
    # e2e expansion.go: sh -c 'TEST_VAR=wrong echo "$(TEST_VAR)"' prints test-value.
    cmd = ["sh", "-c", 'TEST_VAR=wrong echo "$(TEST_VAR)"', "$$(TEST_VAR)", "$(NOPE)"]
    assert expand_command(cmd, {"TEST_VAR": "test-value"}) == [
        "sh", "-c", 'TEST_VAR=wrong echo "test-value"', "$(TEST_VAR)", "$(NOPE)"]
