import pytest

try:  # torch is the oracle; `make test` installs it, so CI always has it.
    import torch
except ImportError:  # pragma: no cover
    torch = None


def pytest_configure(config):
    if torch is not None:
        torch.set_num_threads(1)


requires_torch = pytest.mark.skipif(torch is None, reason="torch is not installed")
