"""OVIS occlusion levels of ground-truth instances.

OVIS annotations may carry, per instance, a per-frame ``occlusion`` list
aligned with ``segmentations``: one label per frame, ``None`` where the
instance is absent. The OVIS paper (Qi et al., "Occluded Video Instance
Segmentation: A Benchmark", IJCV 2022, Sec. 3) grades each frame as no,
slight or severe occlusion and scores them 0, 0.25 and 0.75; an instance's
occlusion score is the mean of its per-frame scores (absent frames are
skipped), and instances are split into three subsets by that score:

===========  ============================
subset       occlusion score ``s``
===========  ============================
``light``    ``s < 0.25``
``medium``   ``0.25 <= s < 0.5``
``heavy``    ``0.5 <= s``
===========  ============================

Both tables are module constants (:data:`OCCLUSION_SCORES`,
:data:`OCCLUSION_LEVELS`) so that the convention lives in one place.
"""
import math
from typing import Optional, Sequence

OCCLUSION_SCORES = {
    'no_occlusion': 0.0,
    'slight_occlusion': 0.25,
    'severe_occlusion': 0.75,
}
"""Score of each per-frame occlusion label."""

OCCLUSION_LEVELS = {
    'light': (0.0, 0.25),
    'medium': (0.25, 0.5),
    'heavy': (0.5, math.inf),
}
"""Half-open ``[low, high)`` bounds of each occlusion subset's score."""


def occlusion_score(labels: Sequence[Optional[str]],
                    where: str) -> Optional[float]:
    """Mean occlusion score of one instance.

    Args:
        labels (Sequence[str | None]): Per-frame occlusion labels, keys of
            :data:`OCCLUSION_SCORES` or ``None`` for frames without the
            instance.
        where (str): Names the annotation in error messages.

    Returns:
        float | None: The mean score over labelled frames, ``None`` when no
        frame is labelled.
    """
    scores = []
    for frame_id, label in enumerate(labels):
        if label is None:
            continue
        if label not in OCCLUSION_SCORES:
            raise ValueError(
                f'{where}: occlusion label {label!r} in frame {frame_id} is '
                f'not one of {sorted(OCCLUSION_SCORES)} (or null)')
        scores.append(OCCLUSION_SCORES[label])
    if not scores:
        return None
    return sum(scores) / len(scores)


def occlusion_level(score: Optional[float]) -> Optional[str]:
    """Name of the :data:`OCCLUSION_LEVELS` subset holding ``score``."""
    if score is None:
        return None
    for name, (low, high) in OCCLUSION_LEVELS.items():
        if low <= score < high:
            return name
    raise ValueError(f'occlusion score {score} is outside every level')
