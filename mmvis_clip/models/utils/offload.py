"""Move a frame's final results off the accelerator once they are final."""
from typing import Optional

import torch
from mmengine.structures import InstanceData


def offload(instances: InstanceData,
            memo: Optional[dict] = None) -> InstanceData:
    """A copy of ``instances`` with CPU tensors in their own storage,
    floating-point ones at least float32 (a view would keep a clip's whole
    tensor alive).

    Args:
        instances (InstanceData): E.g. ``pred_track_instances`` of a frame.
        memo (dict, optional): Copies made so far, by source tensor; share
            it to copy each tensor once. Defaults to None (a new one).

    Returns:
        InstanceData: Same metainfo and fields.
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
