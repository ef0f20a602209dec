"""The docstring examples of nash.space run and print what they claim."""

from __future__ import annotations

import doctest
import importlib

import pytest

MODULES = ["ops", "registry", "genotype", "strategy", "display", "__init__"]


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name):
    module = importlib.import_module("nash.space" if name == "__init__" else f"nash.space.{name}")
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS)
    assert result.failed == 0 and result.attempted > 0
