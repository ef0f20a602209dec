"""Search tests run torch on one thread: tiny tensors gain nothing from more, and on a busy shared
machine two OpenMP threads can be 10-100x slower than one."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import torch


@pytest.fixture(autouse=True)
def one_thread() -> Iterator[None]:
    """Run the test with ``torch.set_num_threads(1)`` and restore the previous setting."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)
