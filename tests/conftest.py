"""Fixtures for the unit tests."""

import pytest
import torch


@pytest.fixture(autouse=True, scope="session")
def one_thread():
    """Unit tests use small tensors: one torch thread avoids threading overhead, which on a
    busy 2-core machine made them up to 10x slower, and two test workers run at once (one per
    core; see README.md, "Run the tests")."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)
