"""The built binaries exist and start."""
import os

import harness


def test_binaries_built():
    assert os.access(harness.AGENT, os.X_OK), harness.AGENT
    assert os.path.islink(harness.LOCAL) or os.access(harness.LOCAL, os.X_OK), harness.LOCAL
