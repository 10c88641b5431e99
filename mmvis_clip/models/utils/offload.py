"""Move a frame's final results off the accelerator as soon as they are
final, so that memory does not grow with the length of the video."""
from typing import Optional

import torch
from mmengine.structures import InstanceData


def offload(instances: InstanceData,
            memo: Optional[dict] = None) -> InstanceData:
    """A copy of ``instances`` whose tensors live on the CPU, each in its
    own storage, floating-point ones at least float32.

    A frame's result is often a view into a larger tensor (a clip's
    (n, T, H, W) masks): keeping the view would keep the whole tensor, on
    the GPU, until the video ends. ``Tensor.cpu()`` returns the very
    tensor (view included) on a CPU run, so the copy is explicit. Under
    autocast some results come out in half precision, which NumPy (the
    metric, the API) cannot read: they are cast.

    Each tensor is copied once per ``memo``: a tensor met again (another
    field, or another ``InstanceData`` of the same frame offloaded with
    the same ``memo``, e.g. the detections the track results were made
    from) gets the copy made the first time, so a frame's results cross
    to the host in one transfer per tensor.

    Args:
        instances (InstanceData): E.g. ``pred_track_instances`` of a frame.
        memo (dict, optional): Copies made so far, by source tensor; pass
            the same dict to offload several ``InstanceData`` sharing
            tensors. Defaults to None (a new one).

    Returns:
        InstanceData: Same metainfo and fields, CPU tensors that own their
        memory.
    """
    memo = {} if memo is None else memo
    out = InstanceData(metainfo=instances.metainfo)
    for key, value in instances.items():
        if hasattr(value, 'detach'):
            # the source is kept with its copy: its id is not reused
            source, copy = memo.get(id(value), (None, None))
            if source is not value:
                dtype = value.dtype
                if dtype.is_floating_point and dtype.itemsize < 4:
                    dtype = torch.float32
                copy = value.detach().to('cpu', dtype, copy=True)
                memo[id(value)] = (value, copy)
            value = copy
        out[key] = value
    return out
