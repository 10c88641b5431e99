"""Linking per-frame masks that carry no track id into tracks, frame by
frame, within one group (a class): ``iou`` joins each mask to the track of
the previous annotated frame's mask it overlaps most (greedy by IoU, at
least the threshold), else starts a track; ``order`` joins the n-th mask
of each frame to track n.
"""
from typing import Dict, Hashable, List, Tuple

import numpy as np
import pycocotools.mask as mask_utils

from ...structures.rle import segmentation_rle

LINK_RULES = ('iou', 'order')
DEFAULT_LINK_RULE = 'iou'
DEFAULT_LINK_IOU = 0.5


def greedy_iou_matches(ious: np.ndarray, thr: float) -> List[int]:
    """Greedy one-to-one matching of rows to columns by decreasing IoU.

    Args:
        ious (np.ndarray): (rows, cols) IoUs.
        thr (float): Pairs below it are not matched.

    Returns:
        list[int]: Per row, its column, or ``-1``. Ties go to the earlier
        row, then the earlier column.
    """
    matches = [-1] * ious.shape[0]
    taken = set()
    pairs = sorted(((-float(ious[i, j]), i, j)
                    for i in range(ious.shape[0])
                    for j in range(ious.shape[1])))
    for negative_iou, i, j in pairs:
        if -negative_iou < thr:
            break
        if matches[i] < 0 and j not in taken:
            matches[i] = j
            taken.add(j)
    return matches


class FrameLinker:
    """Gives the masks of each frame track numbers, by one of
    :data:`LINK_RULES`.

    Call :meth:`next_frame` before each annotated frame (in frame order),
    then :meth:`link` once per group with masks in it.

    Args:
        rule (str): ``'iou'`` or ``'order'``.
        iou_thr (float): Least IoU that links two masks (``'iou'``).
    """

    def __init__(self,
                 rule: str = DEFAULT_LINK_RULE,
                 iou_thr: float = DEFAULT_LINK_IOU):
        assert rule in LINK_RULES, rule
        assert 0 < iou_thr <= 1, iou_thr
        self.rule = rule
        self.iou_thr = iou_thr
        self.num_tracks = 0
        self._order: Dict[Tuple[Hashable, int], int] = {}
        self._previous: Dict[Hashable, List[Tuple[int, dict]]] = {}
        self._current: Dict[Hashable, List[Tuple[int, dict]]] = {}

    def next_frame(self) -> None:
        """Start the next annotated frame."""
        self._previous, self._current = self._current, {}

    def _new_track(self) -> int:
        self.num_tracks += 1
        return self.num_tracks - 1

    def link(self, group: Hashable, rles: List[dict]) -> List[int]:
        """Track numbers (0, 1, ... over all groups) of the masks of
        ``group`` in this frame.

        Args:
            group (Hashable): The group (e.g. the class name).
            rles (list[dict]): Its masks in this frame, compressed RLEs
                of one frame size, in file order.

        Returns:
            list[int]: Distinct track numbers, one per mask.
        """
        assert group not in self._current, f'{group!r} linked twice'
        if self.rule == 'order':
            tracks = []
            for n in range(len(rles)):
                if (group, n) not in self._order:
                    self._order[group, n] = self._new_track()
                tracks.append(self._order[group, n])
        else:
            previous = self._previous.get(group, [])
            matches = [-1] * len(rles)
            if previous and rles:
                ious = mask_utils.iou(
                    [segmentation_rle(r, *r['size']) for r in rles],
                    [segmentation_rle(r, *r['size']) for _, r in previous],
                    [0] * len(previous))
                matches = greedy_iou_matches(
                    np.asarray(ious).reshape(len(rles), len(previous)),
                    self.iou_thr)
            tracks = [
                previous[j][0] if j >= 0 else self._new_track()
                for j in matches
            ]
        self._current[group] = list(zip(tracks, rles))
        return tracks


__all__ = [
    'DEFAULT_LINK_IOU', 'DEFAULT_LINK_RULE', 'FrameLinker', 'LINK_RULES',
    'greedy_iou_matches'
]
