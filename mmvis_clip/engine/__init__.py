from .atomic_checkpoint import (AtomicCheckpointHook, AtomicLocalBackend,
                                configure_resume, find_resume_checkpoint,
                                read_training_meta, remove_stale_temporaries)
from .checkpoint_load_hook import CheckpointLoadHook
from .config_checks import (apply_data_root, check_cfg_options,
                            check_config_values, check_data_exists,
                            load_config)
from .cpu_threads_hook import CPUThreadsHook
from .device_aware_ddp import DeviceAwareDistributedDataParallel
from .launch import (add_runner_args, check_launcher_env, check_load_from,
                     enable_amp, enable_auto_scale_lr, init_dist_on_cpu,
                     load_from_producer, relax_cuda_determinism,
                     setup_runner_cfg, use_checkpoint_load_hook)
from .resume_check_hook import ResumeCheckHook, use_resume_check_hook
from .rng_state_hook import RngStateHook
from .separate_grad_clip_optim_wrapper import (
    SeparateGradClipAmpOptimWrapper, SeparateGradClipOptimWrapper,
    SeparateGradClipOptimWrapperConstructor)

__all__ = [
    'CheckpointLoadHook', 'apply_data_root', 'check_cfg_options',
    'check_config_values', 'check_launcher_env', 'ResumeCheckHook',
    'use_resume_check_hook', 'check_data_exists', 'load_config',
    'use_checkpoint_load_hook',
    'DeviceAwareDistributedDataParallel', 'add_runner_args', 'check_load_from',
    'enable_amp', 'enable_auto_scale_lr', 'init_dist_on_cpu',
    'load_from_producer', 'relax_cuda_determinism', 'setup_runner_cfg',
    'SeparateGradClipOptimWrapper', 'SeparateGradClipAmpOptimWrapper',
    'SeparateGradClipOptimWrapperConstructor', 'AtomicCheckpointHook',
    'AtomicLocalBackend', 'configure_resume', 'find_resume_checkpoint',
    'read_training_meta', 'remove_stale_temporaries', 'RngStateHook',
    'CPUThreadsHook'
]
