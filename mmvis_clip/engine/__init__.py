from .device_aware_ddp import DeviceAwareDistributedDataParallel
from .launch import (add_runner_args, check_load_from, init_dist_on_cpu,
                     load_from_producer, setup_runner_cfg)
from .launch import enable_amp
from .separate_clip_optim_wrapper import (SeparateClipAmpOptimWrapper,
                                          SeparateClipOptimWrapper,
                                          SeparateClipOptimWrapperConstructor)

__all__ = [
    'DeviceAwareDistributedDataParallel', 'add_runner_args',
    'check_load_from', 'init_dist_on_cpu', 'load_from_producer',
    'setup_runner_cfg', 'enable_amp', 'SeparateClipOptimWrapper',
    'SeparateClipAmpOptimWrapper',
    'SeparateClipOptimWrapperConstructor'
]
