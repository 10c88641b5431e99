"""A DDP wrapper that also works when the model lives on the CPU."""
from mmengine.model import MMDistributedDataParallel
# Registered in mmengine's root registry, not mmdet's: Runner.wrap_model
# resolves the wrapper type with ``mmengine.registry.MODEL_WRAPPERS.get``,
# which searches a registry and its parents but never its children.
from mmengine.registry import MODEL_WRAPPERS


@MODEL_WRAPPERS.register_module()
class DeviceAwareDistributedDataParallel(MMDistributedDataParallel):
    """``MMDistributedDataParallel`` that drops ``device_ids`` for CPU models.

    mmengine's Runner always passes ``device_ids=[LOCAL_RANK]``, which
    ``torch.nn.parallel.DistributedDataParallel`` rejects for a module whose
    parameters are on the CPU. With this wrapper the same config trains on
    GPUs (``device_ids`` kept) and on CPU-only hosts with the gloo backend
    (``device_ids`` and ``output_device`` dropped), so
    ``tools/dist_train.sh CONFIG N`` runs anywhere.
    """

    def __init__(self, module, **kwargs):
        param = next(module.parameters(), None)
        if param is not None and param.device.type == 'cpu':
            kwargs.pop('device_ids', None)
            kwargs.pop('output_device', None)
        super().__init__(module=module, **kwargs)
