from .device_aware_ddp import DeviceAwareDistributedDataParallel
from .launch import init_dist_on_cpu, setup_runner_cfg

__all__ = [
    'DeviceAwareDistributedDataParallel', 'init_dist_on_cpu',
    'setup_runner_cfg'
]
