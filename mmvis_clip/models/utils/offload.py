"""Move a frame's final results off the accelerator as soon as they are
final, so that memory does not grow with the length of the video."""
import torch
from mmengine.structures import InstanceData


def offload(instances: InstanceData) -> InstanceData:
    """A copy of ``instances`` whose tensors live on the CPU, each in its
    own storage, floating-point ones at least float32.

    A frame's result is often a view into a larger tensor (a clip's
    (n, T, H, W) masks): keeping the view would keep the whole tensor, on
    the GPU, until the video ends. ``Tensor.cpu()`` returns the very
    tensor (view included) on a CPU run, so the copy is explicit. Under
    autocast some results come out in half precision, which NumPy (the
    metric, the API) cannot read: they are cast.

    Args:
        instances (InstanceData): E.g. ``pred_track_instances`` of a frame.

    Returns:
        InstanceData: Same metainfo and fields, CPU tensors that own their
        memory.
    """
    out = InstanceData(metainfo=instances.metainfo)
    for key, value in instances.items():
        if hasattr(value, 'detach'):
            dtype = value.dtype
            if dtype.is_floating_point and dtype.itemsize < 4:
                dtype = torch.float32
            value = value.detach().to('cpu', dtype, copy=True)
        out[key] = value
    return out
