"""Sampling of tracking-embedding pairs from label assignment, on a map of
stride ``s`` whose cell ``(i, j)`` (flat index ``i * W + j``) is centred at
image point ``((j + 0.5) s, (i + 0.5) s)``, as mmdet's FCOS points."""
from typing import Dict, Sequence, Tuple

import torch
from mmdet.registry import TASK_UTILS
from torch import Tensor


def grid_cell_centres(grid_hw: Sequence[int],
                      stride: float,
                      device=None) -> Tensor:
    """Image points (x, y) of the cell centres of a map, shape (H*W, 2)."""
    h, w = int(grid_hw[0]), int(grid_hw[1])
    ys = (torch.arange(h, device=device, dtype=torch.float32) + 0.5) * stride
    xs = (torch.arange(w, device=device, dtype=torch.float32) + 0.5) * stride
    yy, xx = torch.meshgrid(ys, xs, indexing='ij')
    return torch.stack([xx.reshape(-1), yy.reshape(-1)], dim=1)


def points_to_grid_cells(points: Tensor, stride: float,
                         grid_hw: Sequence[int]) -> Tensor:
    """Flat index of the cell that contains each point.

    Args:
        points (Tensor): Image points (x, y), shape (N, 2), of any pyramid
            level; points outside the map are clamped to its border.
        stride (float): Stride of the map.
        grid_hw (Sequence[int]): (H, W) of the map.

    Returns:
        Tensor: Long tensor of shape (N, ) with values in ``[0, H * W)``.
    """
    h, w = int(grid_hw[0]), int(grid_hw[1])
    cols = torch.div(points[:, 0], stride, rounding_mode='floor').long()
    rows = torch.div(points[:, 1], stride, rounding_mode='floor').long()
    cols = cols.clamp(0, w - 1)
    rows = rows.clamp(0, h - 1)
    return rows * w + cols


def assignment_to_grid(points: Tensor, gt_inds: Tensor, num_gts: int,
                       stride: float, grid_hw: Sequence[int]) -> Tensor:
    """Cells of a map given by label assignment to each ground truth.

    Args:
        points (Tensor): Image points (x, y) of the positive locations of
            all pyramid levels, shape (P, 2).
        gt_inds (Tensor): Index of the ground truth each positive location
            is assigned to, shape (P, ), values in ``[0, num_gts)``.
        num_gts (int): Number of ground truths of the image.
        stride (float): Stride of the map.
        grid_hw (Sequence[int]): (H, W) of the map.

    Returns:
        Tensor: Bool (num_gts, H*W); ``[g, c]`` is True when some location
        assigned to ground truth ``g`` falls into cell ``c``.
    """
    num_cells = int(grid_hw[0]) * int(grid_hw[1])
    assign = torch.zeros((num_gts, num_cells),
                         dtype=torch.bool,
                         device=points.device)
    if points.numel() == 0:
        return assign
    if gt_inds.numel() != points.size(0):
        raise ValueError(f'{points.size(0)} positive points but '
                         f'{gt_inds.numel()} assigned gt indices')
    if int(gt_inds.min()) < 0 or int(gt_inds.max()) >= num_gts:
        raise ValueError(f'assigned gt indices must lie in [0, {num_gts}), '
                         f'got [{int(gt_inds.min())}, {int(gt_inds.max())}]')
    cells = points_to_grid_cells(points, stride, grid_hw)
    assign[gt_inds.long(), cells] = True
    return assign


def grid_cells_in_boxes(boxes: Tensor, stride: float,
                        grid_hw: Sequence[int]) -> Tensor:
    """Cells whose centre lies inside each box (borders included).

    Args:
        boxes (Tensor): Boxes (x1, y1, x2, y2) in image pixels, (M, 4).
        stride (float): Stride of the map.
        grid_hw (Sequence[int]): (H, W) of the map.

    Returns:
        Tensor: Bool (M, H*W).
    """
    centres = grid_cell_centres(grid_hw, stride, boxes.device)
    xs, ys = centres[None, :, 0], centres[None, :, 1]
    return ((xs >= boxes[:, None, 0]) & (xs <= boxes[:, None, 2])
            & (ys >= boxes[:, None, 1]) & (ys <= boxes[:, None, 3]))


def grid_cells_in_image(img_shape: Sequence[int],
                        stride: float,
                        grid_hw: Sequence[int],
                        device=None) -> Tensor:
    """Cells whose centre lies in the image, not in the batch padding.

    Args:
        img_shape (Sequence[int]): (h, w) of the image before padding.
        stride (float): Stride of the map.
        grid_hw (Sequence[int]): (H, W) of the (padded) map.

    Returns:
        Tensor: Bool (H*W, ).
    """
    centres = grid_cell_centres(grid_hw, stride, device)
    return (centres[:, 0] < img_shape[1]) & (centres[:, 1] < img_shape[0])


def sample_embeddings_at_points(embed_map: Tensor, points: Tensor,
                                stride: float) -> Tensor:
    """Bilinear read of a map at image points, border values outside.

    Args:
        embed_map (Tensor): Map of one image, shape (D, H, W).
        points (Tensor): Image points (x, y), shape (N, 2).
        stride (float): Stride of the map.

    Returns:
        Tensor: Embeddings, shape (N, D).
    """
    d, h, w = embed_map.shape
    if points.numel() == 0:
        return embed_map.new_zeros((0, d))
    # grid_sample(align_corners=False, padding_mode='border') written as
    # four gathers: its CUDA backward has no deterministic implementation,
    # indexing's has
    x = (points[:, 0] / stride - 0.5).clamp(0, w - 1).to(embed_map.dtype)
    y = (points[:, 1] / stride - 0.5).clamp(0, h - 1).to(embed_map.dtype)
    x0, y0 = x.floor().long(), y.floor().long()
    x1, y1 = (x0 + 1).clamp(max=w - 1), (y0 + 1).clamp(max=h - 1)
    wx, wy = x - x0, y - y0
    out = (embed_map[:, y0, x0] * ((1 - wx) * (1 - wy)) +
           embed_map[:, y0, x1] * (wx * (1 - wy)) +
           embed_map[:, y1, x0] * ((1 - wx) * wy) +
           embed_map[:, y1, x1] * (wx * wy))  # (D, N)
    return out.t()


@TASK_UTILS.register_module()
class ContrastivePairSampler:
    """Positive and negative keys of each query from label assignment.

    Keys are the cells of a reference map. For a query of instance ``id``:
    the positives are the cells assigned to the reference ground truth of
    that id (none when it is absent); the negatives are ``num_negatives``
    cells drawn uniformly, per query, from the image's cells (not the
    padding) other than the positives and the cells inside the instance's
    reference box not assigned to another instance; all candidates when
    fewer, or with ``num_negatives=-1``. Draws use the sampler's own
    generator, seeded from ``torch.initial_seed()``.

    Args:
        num_negatives (int): Negatives per query, or -1 for all.
            Defaults to 128.
        neg_in_box (bool): Draw negatives only inside ground-truth boxes
            (Table 8 "Inbox"). Defaults to False.

    Raises:
        ValueError: If ``num_negatives`` < -1.
    """

    def __init__(self,
                 num_negatives: int = 128,
                 neg_in_box: bool = False) -> None:
        if num_negatives < -1:
            raise ValueError('num_negatives must be >= 0, or -1 for all '
                             f'candidates, got {num_negatives}')
        self.num_negatives = num_negatives
        self.neg_in_box = neg_in_box
        self._generators = dict()

    def _uniform(self, shape: torch.Size, device) -> Tensor:
        """Uniform [0, 1) scores from the sampler's own generator on
        ``device``."""
        device = torch.device(device)
        generator = self._generators.get(device)
        if generator is None:
            generator = torch.Generator(device=device)
            generator.manual_seed(torch.initial_seed())
            self._generators[device] = generator
        return torch.rand(
            shape, generator=generator, device=device)

    def rng_state_dict(self) -> Dict[str, Tensor]:
        """The generators' states, saved by ``RngStateHook`` in checkpoints.

        Returns:
            dict[str, Tensor]: Generator state by device name; empty before
            the first draw.
        """
        return {
            str(device): generator.get_state()
            for device, generator in self._generators.items()
        }

    def load_rng_state_dict(self, state: Dict[str, Tensor]) -> None:
        """Continue from the generator states of :meth:`rng_state_dict`.

        Args:
            state (dict[str, Tensor]): Generator state by device name.
        """
        for device, generator_state in state.items():
            device = torch.device(device)
            generator = torch.Generator(device=device)
            generator.set_state(generator_state.cpu())
            self._generators[device] = generator

    def sample(self, query_ids: Tensor, key_gt_ids: Tensor, key_assign: Tensor,
               key_in_box: Tensor, key_valid: Tensor) -> Tuple[Tensor, Tensor]:
        """Draw the key sets.

        Args:
            query_ids (Tensor): Instance id of each query, shape (Nq, ).
            key_gt_ids (Tensor): Instance ids of the reference ground
                truths, shape (M, ), unique.
            key_assign (Tensor): Bool (M, Nk), cells assigned to each
                reference ground truth.
            key_in_box (Tensor): Bool (M, Nk), cells inside each reference
                ground-truth box.
            key_valid (Tensor): Bool (Nk, ), cells that may be sampled.

        Returns:
            tuple[Tensor, Tensor]: ``pos_mask`` and ``neg_mask``, bool
            (Nq, Nk), disjoint.
        """
        num_keys = key_valid.numel()
        num_gts = key_gt_ids.numel()
        if key_assign.shape != (num_gts, num_keys) or \
                key_in_box.shape != (num_gts, num_keys):
            raise ValueError(
                f'key_assign {tuple(key_assign.shape)} and key_in_box '
                f'{tuple(key_in_box.shape)} must be ({num_gts}, '
                f'{num_keys}) for {num_gts} reference instances and '
                f'{num_keys} keys')
        # (Nq, M): which reference ground truth is the query's instance
        match = (query_ids[:, None] == key_gt_ids[None, :]).float()
        pos_mask = (match @ key_assign.float()) > 0
        assigned_count = key_assign.sum(dim=0, keepdim=True)
        assigned_to_other = (assigned_count - key_assign.long()) > 0
        own_region = key_assign | (key_in_box & ~assigned_to_other)
        excluded = (match @ own_region.float()) > 0
        candidates = key_valid[None, :] & ~excluded
        if self.neg_in_box:
            candidates = candidates & key_in_box.any(dim=0)[None, :]
        neg_mask = self._random_subset(candidates)
        return pos_mask, neg_mask

    def _random_subset(self, candidates: Tensor) -> Tensor:
        """Per row, keep ``num_negatives`` random True entries."""
        num_rows, num_keys = candidates.shape
        if self.num_negatives == -1 or num_rows == 0:
            return candidates.clone()
        k = min(self.num_negatives, num_keys)
        if k == 0:
            return torch.zeros_like(candidates)
        scores = self._uniform(candidates.shape, candidates.device)
        scores = scores.masked_fill(~candidates, -1.)
        top_scores, top_idx = scores.topk(k, dim=1)
        chosen = torch.zeros_like(candidates)
        chosen.scatter_(1, top_idx, top_scores >= 0)
        return chosen & candidates
