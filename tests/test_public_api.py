import importlib

import pytest


@pytest.mark.parametrize("module", ["assay", "assay.bias", "assay.stats", "assay._tabulate", "assay.datasets", "assay.monitor", "assay.service", "assay.spark"])
def test_all_is_sorted_and_importable(module):
    mod = importlib.import_module(module)
    names = list(mod.__all__)
    assert names == sorted(names)
    for name in names:
        assert getattr(mod, name) is not None
