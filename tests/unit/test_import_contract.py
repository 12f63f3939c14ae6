"""The layers of DESIGN.md section 1 hold: `lint-imports` checks the contracts in setup.cfg
(layers pointing down only, kernel modules independent, no import circle anywhere in podrun/)
against this tree's podrun package. Static analysis only: no root needed."""
from __future__ import annotations

import os
import subprocess
import sys

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def test_imports_keep_the_design_layers_and_make_no_circle():
    env = {**os.environ, "PYTHONPATH": REPO}      # this tree's podrun, not an installed one
    out = subprocess.run([sys.executable, "-c", "from importlinter.cli import lint_imports_command; "
                          "lint_imports_command()", "--no-cache", "--no-logo"],
                         cwd=REPO, env=env, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stdout + out.stderr
    assert "BROKEN" not in out.stdout and "Contracts: 3 kept, 0 broken." in out.stdout, out.stdout
