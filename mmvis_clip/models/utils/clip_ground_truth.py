"""Ground truth of a clip: per-frame annotations gathered per object."""
from typing import Sequence

import torch
from mmdet.structures import DetDataSample
from mmengine.structures import InstanceData
from torch import Tensor


def check_instance_ids(gt_instances: InstanceData, meta: dict) -> None:
    """Instance ids are needed and must be unique within a frame.

    Raises:
        KeyError: No ``instances_ids``.
        ValueError: Repeated ids in one frame.
    """
    where = meta.get('img_path', meta.get('frame_id', '?'))
    if 'instances_ids' not in gt_instances:
        raise KeyError(f'frame {where}: gt_instances has no instances_ids '
                       '(load annotations with LoadTrackAnnotations and '
                       'pack them with PackTrackInputs)')
    ids = gt_instances.instances_ids
    if ids.numel() != torch.unique(ids).numel():
        raise ValueError(f'frame {where}: repeated instance ids '
                         f'{ids.tolist()}')


def clip_ground_truth(frames: Sequence[DetDataSample],
                      with_masks: bool = True) -> InstanceData:
    """Gather the objects of a clip across its T frames.

    Args:
        frames (Sequence[DetDataSample]): The clip's frames in order, with
            ``gt_instances`` (``bboxes`` (n, 4), ``labels``,
            ``instances_ids``, ``masks`` as padded ``BitmapMasks``).
        with_masks (bool): Also gather masks. Defaults to True.

    Returns:
        InstanceData: The N objects by increasing id: ``instances_ids``,
        ``labels`` (N, ), ``bboxes`` (N, T, 4), ``valid`` (N, T) bool,
        ``masks`` (N, T, H, W) uint8; zeros where absent.

    Raises:
        ValueError: An object changes category within the clip.
    """
    for frame in frames:
        check_instance_ids(frame.gt_instances, frame.metainfo)
    gts = [frame.gt_instances for frame in frames]
    device = gts[0].labels.device
    ids = torch.unique(torch.cat([gt.instances_ids for gt in gts]))
    num, num_frames = ids.numel(), len(frames)
    bboxes = torch.zeros((num, num_frames, 4), device=device)
    valid = torch.zeros((num, num_frames), dtype=torch.bool, device=device)
    labels = torch.full((num, ), -1, dtype=torch.long, device=device)
    masks = None
    for t, (gt, frame) in enumerate(zip(gts, frames)):
        if len(gt) == 0:
            continue
        rows = torch.searchsorted(ids, gt.instances_ids)
        bboxes[rows, t] = _as_tensor(gt.bboxes).to(bboxes.dtype)
        valid[rows, t] = True
        seen = labels[rows] >= 0
        changed = seen & (labels[rows] != gt.labels)
        if changed.any():
            bad = gt.instances_ids[changed][0].item()
            raise ValueError(
                f'frame {frame.metainfo.get("img_path", t)}: instance {bad} '
                'changes category within the clip')
        labels[rows] = gt.labels.long()
        if with_masks:
            frame_masks = gt.masks.to_tensor(torch.uint8, device)
            if masks is None:
                masks = frame_masks.new_zeros((num, num_frames) +
                                              frame_masks.shape[-2:])
            masks[rows, t] = frame_masks
    clip = InstanceData(
        instances_ids=ids, labels=labels, bboxes=bboxes, valid=valid)
    if with_masks:
        if masks is None:  # no object in the clip
            h, w = frames[0].metainfo['batch_input_shape']
            masks = torch.zeros((0, num_frames, h, w),
                                dtype=torch.uint8,
                                device=device)
        clip.masks = masks
    return clip


def fill_absent_boxes(bboxes: Tensor, valid: Tensor) -> Tensor:
    """Boxes (N, T, 4) with each absent frame's box copied from the nearest
    present frame (the earlier on a tie); ``valid`` (N, T) bool."""
    assert bboxes.shape[:2] == valid.shape and bool(valid.any(1).all()), \
        (bboxes.shape, valid.shape)
    frames = torch.arange(valid.size(1), device=valid.device)
    dist = (frames[:, None] - frames[None, :]).abs().float()  # (T, T)
    dist = dist[None].expand(valid.size(0), -1, -1).clone()
    dist.masked_fill_(~valid[:, None, :], float('inf'))
    source = dist.argmin(2)  # (N, T): first minimum = the earlier frame
    return torch.gather(bboxes, 1, source[..., None].expand(-1, -1, 4))


def _as_tensor(bboxes) -> Tensor:
    """mmdet box structures or tensors -> (n, 4) tensor."""
    return bboxes.tensor if hasattr(bboxes, 'tensor') else bboxes
