from .device_aware_ddp import DeviceAwareDistributedDataParallel
from .launch import (add_runner_args, check_load_from, enable_amp,
                     init_dist_on_cpu, load_from_producer,
                     relax_cuda_determinism, setup_runner_cfg)
from .separate_clip_optim_wrapper import (SeparateClipAmpOptimWrapper,
                                          SeparateClipOptimWrapper,
                                          SeparateClipOptimWrapperConstructor)

__all__ = [
    'DeviceAwareDistributedDataParallel', 'add_runner_args',
    'check_load_from', 'enable_amp', 'init_dist_on_cpu', 'load_from_producer',
    'relax_cuda_determinism', 'setup_runner_cfg', 'SeparateClipOptimWrapper',
    'SeparateClipAmpOptimWrapper', 'SeparateClipOptimWrapperConstructor'
]
