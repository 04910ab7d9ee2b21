import os

import pytest
from hypothesis import settings

# The suite is a gate (CI runs it on every stop), so by default each property test draws the
# same examples every run: a failure is reproducible, and main's state does not depend on
# luck. `HYPOTHESIS_PROFILE=explore pytest` draws fresh examples on each run, to hunt for
# new counterexamples; add what it finds to the test as an @example.
settings.register_profile("gate", derandomize=True)
settings.register_profile("explore", derandomize=False)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "gate"))

try:  # torch is the oracle; `make test` installs it, so CI always has it.
    import torch
except ImportError:  # pragma: no cover
    torch = None


def pytest_configure(config):
    if torch is not None:
        torch.set_num_threads(1)


requires_torch = pytest.mark.skipif(torch is None, reason="torch is not installed")


@pytest.fixture(autouse=True)
def _plain_output(monkeypatch):
    """Tests read plain output (the goldens): a FORCE_COLOR in the environment would turn
    convcalc's output to rich's even into CliRunner (tests/test_terminal.py sets it itself)."""
    monkeypatch.delenv("FORCE_COLOR", raising=False)


@pytest.fixture(scope="session")
def torchvision():
    """torchvision, imported beside the CPU torch (convcalc.backend.tvcompat); the test
    skips where it is not installed."""
    from convcalc.backend.tvcompat import import_torchvision

    found = import_torchvision()
    if found is None:
        pytest.skip("torchvision is not installed")
    return found
