# Runtime shared by mmvis_clip's configs: mmdet's default runtime, this
# package's modules and mmdet's video visualizer.
_base_ = 'mmdet::_base_/default_runtime.py'

custom_imports = dict(imports=['mmvis_clip'], allow_failed_imports=False)
default_scope = 'mmdet'

# Checkpoints written atomically (a temporary renamed over the final name,
# then last_checkpoint), and every random-number state of the run saved
# with them and restored by --resume, so that a killed run resumes to the
# same bits (mmvis_clip/engine/atomic_checkpoint.py, rng_state_hook.py).
# A config that changes the checkpoint hook's settings keeps its type by
# leaving `type` out.
# CPU runs keep their thread count at the cores other processes leave free
# (mmvis_clip/engine/cpu_threads_hook.py); in default_hooks, so that a
# config that sets custom_hooks keeps it (`cpu_threads=None` removes it).
default_hooks = dict(
    checkpoint=dict(type='AtomicCheckpointHook'),
    rng_state=dict(type='RngStateHook'),
    cpu_threads=dict(type='CPUThreadsHook'),
    visualization=dict(type='TrackVisualizationHook', draw=False))
vis_backends = [dict(type='LocalVisBackend')]
visualizer = dict(
    type='TrackLocalVisualizer', vis_backends=vis_backends, name='visualizer')
