# Runtime shared by mmvis_clip's configs: mmdet's default runtime, this
# package's modules and mmdet's video visualizer.
_base_ = 'mmdet::_base_/default_runtime.py'

custom_imports = dict(imports=['mmvis_clip'], allow_failed_imports=False)
default_scope = 'mmdet'

default_hooks = dict(
    visualization=dict(type='TrackVisualizationHook', draw=False))
vis_backends = [dict(type='LocalVisBackend')]
visualizer = dict(
    type='TrackLocalVisualizer', vis_backends=vis_backends, name='visualizer')
