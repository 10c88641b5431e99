"""Assign detections to tracks, each detection having a "new track" option."""
import numpy as np
import torch
from scipy.optimize import linear_sum_assignment
from torch import Tensor

ASSIGNMENT_METHODS = ('argmax', 'hungarian')
CONFLICT_RULES = ('new', 'drop')
#: Returned for a detection that starts a new track.
NEW_TRACK = -1
#: Returned for a detection dropped after losing a conflict
#: (``on_conflict='drop'``).
DROPPED = -2


def assign_detections_to_tracks(match_scores: Tensor,
                                new_scores: Tensor,
                                method: str = 'argmax',
                                on_conflict: str = 'new') -> Tensor:
    """Match detections to tracks; unmatched detections start new tracks.

    Args:
        match_scores (Tensor): Of shape (N, M), higher is better; ``-inf``
            forbids a pair.
        new_scores (Tensor | float): Of shape (N, ) or a scalar: score of
            starting a new track.
        method (str): ``'argmax'``: each detection takes its best track if
            strictly above its new score; a track wanted by several goes to
            the highest score (ties: lower index), the others lose the
            conflict. ``'hungarian'``: ``linear_sum_assignment`` on
            ``[match_scores | diag(new_scores)]`` (no conflict loser).
            Defaults to ``'argmax'``.
        on_conflict (str): An ``'argmax'`` conflict loser starts a new
            track (``'new'``, default) or is dropped (``'drop'``).

    Returns:
        Tensor: Of shape (N, ), long: the matched column, ``NEW_TRACK``
        (-1) or ``DROPPED`` (-2). No column appears twice.

    Raises:
        ValueError: On an unknown ``method`` / ``on_conflict``, NaN or
            +inf scores.
    """
    if method not in ASSIGNMENT_METHODS:
        raise ValueError(f'Unknown assignment method {method!r}; expected '
                         f'one of {ASSIGNMENT_METHODS}.')
    if on_conflict not in CONFLICT_RULES:
        raise ValueError(f'Unknown on_conflict {on_conflict!r}; expected '
                         f'one of {CONFLICT_RULES}.')
    assert match_scores.dim() == 2, tuple(match_scores.shape)
    num_dets, num_tracks = match_scores.shape
    # a small matrix, assigned on the host: one transfer instead of a
    # device synchronisation per track in the loops below
    device = match_scores.device
    match_scores = match_scores.detach().cpu()
    new_scores = torch.as_tensor(new_scores).detach().cpu().to(
        match_scores.dtype)
    new_scores = new_scores.expand(num_dets) if new_scores.dim() == 0 \
        else new_scores
    assert new_scores.shape == (num_dets, ), (
        f'new_scores {tuple(new_scores.shape)}, {num_dets} detections')
    if torch.isnan(match_scores).any() or (match_scores == np.inf).any():
        raise ValueError('match_scores must not hold NaN or +inf.')
    if not torch.isfinite(new_scores).all():
        raise ValueError('new_scores must be finite.')

    assigned = torch.full((num_dets, ), NEW_TRACK, dtype=torch.long)
    if num_dets == 0 or num_tracks == 0:
        return assigned.to(device)
    if method == 'argmax':
        assigned = _assign_argmax(match_scores, new_scores, assigned,
                                  on_conflict)
    else:
        assigned = _assign_hungarian(match_scores, new_scores, assigned)
    return assigned.to(device)


def _assign_argmax(match_scores: Tensor, new_scores: Tensor,
                   assigned: Tensor, on_conflict: str) -> Tensor:
    best_scores, best_tracks = match_scores.max(dim=1)
    for track in best_tracks.unique().tolist():
        wanting = ((best_tracks == track) &
                   (best_scores > new_scores)).nonzero()[:, 0]
        if len(wanting) == 0:
            continue
        # argmax returns the first maximum: ties go to the lower index
        winner = wanting[best_scores[wanting].argmax()]
        if on_conflict == 'drop':
            assigned[wanting] = DROPPED
        assigned[winner] = track
    return assigned


def _assign_hungarian(match_scores: Tensor, new_scores: Tensor,
                      assigned: Tensor) -> Tensor:
    num_dets, num_tracks = match_scores.shape
    scores = match_scores.detach().cpu().double().numpy()
    new_block = np.full((num_dets, num_dets), -np.inf)
    np.fill_diagonal(new_block, new_scores.detach().cpu().double().numpy())
    cost = -np.concatenate([scores, new_block], axis=1)
    rows, cols = linear_sum_assignment(cost)
    for row, col in zip(rows.tolist(), cols.tolist()):
        if col < num_tracks:
            assigned[row] = col
    return assigned
