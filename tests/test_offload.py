"""Final frame results leave the device in their own memory."""
import torch
from mmengine.structures import InstanceData

from mmvis_clip.models.utils.offload import offload


def test_a_view_of_a_clip_tensor_becomes_its_own_copy():
    clip_masks = torch.zeros(5, 3, 40, 60, dtype=torch.bool)
    clip_masks[1, 2, 10:20, 5:9] = True
    frame = InstanceData(
        metainfo=dict(frame_id=7),
        masks=clip_masks[:, 2],
        labels=torch.arange(5),
        names=['a', 'b', 'c', 'd', 'e'])
    # the frame's masks keep the whole clip's storage alive
    assert frame.masks.untyped_storage().nbytes() == 5 * 3 * 40 * 60
    out = offload(frame)
    assert out.masks.device.type == 'cpu'
    assert out.masks.untyped_storage().nbytes() == 5 * 40 * 60
    assert torch.equal(out.masks, clip_masks[:, 2])
    assert out.metainfo == dict(frame_id=7)
    assert out.names == frame.names
    assert out.labels.data_ptr() != frame.labels.data_ptr()


def test_half_precision_results_become_float32():
    """Under autocast scores come out in bfloat16, which NumPy cannot read."""
    frame = InstanceData(
        scores=torch.tensor([0.5, 0.25], dtype=torch.bfloat16),
        bboxes=torch.zeros(2, 4, dtype=torch.float16),
        masks=torch.zeros(2, 3, 3, dtype=torch.bool),
        labels=torch.tensor([1, 2]))
    out = offload(frame)
    assert out.scores.dtype == out.bboxes.dtype == torch.float32
    assert out.masks.dtype == torch.bool and out.labels.dtype == torch.long
    assert out.scores.numpy().tolist() == [0.5, 0.25]
