"""Fixtures for the unit tests."""

import pytest
import torch


@pytest.fixture(autouse=True, scope="session")
def one_thread():
    """Unit tests use small tensors: one torch thread avoids threading overhead, which on a
    busy 2-core machine made them up to 10x slower (DESIGN.md section 4)."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)
