"""Shared test set-up."""
import pytest
import torch
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


@pytest.fixture(scope='module', autouse=True)
def one_thread():
    """Small convs run much faster on one thread on a shared 2-core box."""
    num = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(num)


@pytest.fixture(scope='session')
def make_tiny_synthetic(tmp_path_factory):
    """Factory of small synthetic YouTube-VIS datasets (64x96 frames).

    ``make_tiny_synthetic(num_videos, num_frames, seed)`` writes one into a
    new temporary folder and returns its root with a trailing ``/`` (as
    configs join ``data_root`` and file names).
    """
    from mmvis_clip.datasets.synthetic import make_synthetic_vis

    def make(num_videos: int, num_frames: int, seed: int) -> str:
        root = str(tmp_path_factory.mktemp('synthetic'))
        make_synthetic_vis(
            root,
            num_videos=num_videos,
            num_frames=num_frames,
            size=(64, 96),
            seed=seed,
            show_progress=False)
        return root + '/'

    return make
