"""Circumscribed boxes of objects over a clip (Eq. 4 of the CiCo paper)."""
from typing import List, Optional, Sequence

import torch
from torch import Tensor


def _frame_index(frames: Optional[Sequence[int]], num_frames: int,
                 device: torch.device) -> Tensor:
    """Frame indices as a long tensor, checked against ``num_frames``."""
    if frames is None:
        return torch.arange(num_frames, device=device)
    frames = [int(f) for f in frames]
    assert frames and all(0 <= f < num_frames for f in frames), (
        f'frames {frames} of a clip of {num_frames}')
    return torch.tensor(frames, dtype=torch.long, device=device)


def _check_valid(valid: Tensor, num_objects: int, num_frames: int) -> None:
    assert valid.dtype == torch.bool and tuple(valid.shape) == (
        num_objects, num_frames), (f'valid {valid.dtype} '
                                   f'{tuple(valid.shape)}, boxes '
                                   f'({num_objects}, {num_frames}, 4)')


def has_valid_box(valid: Tensor,
                  frames: Optional[Sequence[int]] = None) -> Tensor:
    """(N, ) bool: each object of ``valid`` (N, T) bool is present in one
    of ``frames`` (None: all); False at :func:`circumscribed_boxes`' zero
    rows."""
    assert valid.dim() == 2, tuple(valid.shape)
    _check_valid(valid, valid.size(0), valid.size(1))
    index = _frame_index(frames, valid.size(1), valid.device)
    return valid[:, index].any(dim=1)


def circumscribed_boxes(boxes: Tensor,
                        valid: Optional[Tensor] = None,
                        frames: Optional[Sequence[int]] = None) -> Tensor:
    """``[min_t x1, min_t y1, max_t x2, max_t y2]`` of each object over the
    used frames where it is present (Eq. 4 of the CiCo paper).

    Args:
        boxes (Tensor): Shape (N, T, 4), x1y1x2y2.
        valid (Tensor, optional): Bool, shape (N, T); None: all present.
        frames (Sequence[int], optional): Frames to use; None: all.

    Returns:
        Tensor: Shape (N, 4), dtype of ``boxes``; all-zero for an object
        absent from the used frames.
    """
    assert boxes.dim() == 3 and boxes.size(-1) == 4, tuple(boxes.shape)
    num_objects, num_frames = boxes.shape[:2]
    if valid is None:
        valid = boxes.new_ones((num_objects, num_frames), dtype=torch.bool)
    _check_valid(valid, num_objects, num_frames)
    index = _frame_index(frames, num_frames, boxes.device)
    boxes, valid = boxes[:, index], valid[:, index, None]

    info = (torch.finfo if boxes.dtype.is_floating_point else torch.iinfo)
    big = info(boxes.dtype).max
    top_left = torch.where(valid, boxes[..., :2],
                           boxes.new_tensor(big)).amin(dim=1)
    bottom_right = torch.where(valid, boxes[..., 2:],
                               boxes.new_tensor(-big)).amax(dim=1)
    circ = torch.cat([top_left, bottom_right], dim=1)
    present = valid.any(dim=1)  # (N, 1)
    return torch.where(present, circ, torch.zeros_like(circ))


def matching_frames(num_frames: int,
                    radius: Optional[int] = 1,
                    centre: Optional[int] = None) -> List[int]:
    """Frames whose boxes the sample matcher encloses (CiCo paper, Sec. 3.3).

    Args:
        num_frames (int): Clip length T (>= 1).
        radius (int, optional): Neighbours on each side of the current
            frame; None: all frames. Defaults to 1 (the paper's).
        centre (int, optional): The current frame; None: ``(T - 1) // 2``.

    Returns:
        list[int]: Sorted frame indices.

    Raises:
        ValueError: If ``num_frames < 1`` or ``radius < 0``.
    """
    if num_frames < 1:
        raise ValueError(f'num_frames must be >= 1, got {num_frames}')
    if radius is None:
        return list(range(num_frames))
    if radius < 0:
        raise ValueError(f'radius must be >= 0 or None, got {radius}')
    if centre is None:
        centre = (num_frames - 1) // 2
    assert 0 <= centre < num_frames, (centre, num_frames)
    return list(
        range(max(0, centre - radius),
              min(num_frames - 1, centre + radius) + 1))


def scale_boxes(boxes: Tensor, scale: float) -> Tensor:
    """Scale boxes (m, 4) x1y1x2y2 about their centres: (m, 4) float32."""
    boxes = boxes.float()
    centres = (boxes[:, :2] + boxes[:, 2:]) / 2
    half = (boxes[:, 2:] - boxes[:, :2]) * (scale / 2)
    return torch.cat([centres - half, centres + half], dim=1)
