"""Shared test set-up."""
import pytest
from mmengine.registry import init_default_scope


def _mmdet_scope():
    # A Runner built without `default_scope` makes 'mmengine' the current
    # scope for the rest of the process; mmdet-registered modules (all of
    # this package's) are then not found by name.
    init_default_scope('mmdet')


@pytest.fixture(scope='module', autouse=True)
def mmdet_scope_per_module():
    """Before a module's own module-scoped fixtures."""
    _mmdet_scope()


@pytest.fixture(autouse=True)
def mmdet_scope_per_test():
    """Before every test."""
    _mmdet_scope()
