"""OVIS occlusion levels of ground-truth instances, as the official
``oviseval.py`` (the OVIS fork of the COCO API) computes them; the rule:
docs/train_test.md, "OVIS occlusion levels".
"""
import math
from typing import Optional, Sequence, Tuple

from .vis_format import VISFormatError

OCCLUSION_SCORES = {
    'no_occlusion': 0.0,
    'slight_occlusion': 0.25,
    'severe_occlusion': 0.75,
}
"""Score of each per-frame occlusion label."""

OCCLUSION_LEVELS = {
    'light': (0.0, 0.25),
    'medium': (0.25, 0.5),
    'heavy': (0.5, 1.0),
}
"""Closed ``[low, high]`` bounds of each occlusion level's score."""


def occlusion_score(labels: Sequence[Optional[str]], where: str) -> float:
    """Occlusion score of one instance: the mean of the ``ceil(n / 2)``
    highest scores of its ``n`` labelled frames.

    Args:
        labels (Sequence[str | None]): Per-frame occlusion labels, keys of
            :data:`OCCLUSION_SCORES` or ``None`` for frames without one.
        where (str): Names the annotation in error messages.

    Returns:
        float: The score, in [0, 0.75].

    Raises:
        VISFormatError: On an unknown label, or when no frame is labelled.
    """
    scores = []
    for frame_id, label in enumerate(labels):
        if label is None:
            continue
        if not isinstance(label, str) or label not in OCCLUSION_SCORES:
            raise VISFormatError(
                f'{where}: occlusion label {label!r} in frame {frame_id} is '
                f'not one of {sorted(OCCLUSION_SCORES)} (or null)')
        scores.append(OCCLUSION_SCORES[label])
    if not scores:
        raise VISFormatError(
            f'{where}: none of its {len(labels)} frames has an occlusion '
            'label (all null), so it has no OVIS occlusion score; label at '
            'least one frame or drop the "occlusion" field of every '
            'annotation')
    top = sorted(scores)[-math.ceil(len(scores) / 2):]
    return sum(top) / len(top)


def occlusion_levels(score: float) -> Tuple[str, ...]:
    """Names of the :data:`OCCLUSION_LEVELS` whose range holds ``score``.

    Args:
        score (float): An occlusion score.

    Returns:
        tuple[str, ...]: One level, or two at the shared bounds 0.25 and
        0.5 (e.g. ``('light', 'medium')`` for 0.25).
    """
    levels = tuple(name for name, (low, high) in OCCLUSION_LEVELS.items()
                   if low <= score <= high)
    if not levels:
        raise ValueError(f'occlusion score {score} is outside every level')
    return levels
