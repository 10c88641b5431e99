"""Sample and render one synthetic video.

A scene is a static background plus 1 to :data:`MAX_INSTANCES` instances
in a fixed depth order, painted back to front; an instance's mask is its
pixels no instance in front covers (masks never overlap), ``None`` where
fewer than :data:`MIN_VISIBLE_AREA` pixels are visible. A scene with an
instance absent in every frame is drawn again. With
:data:`OCCLUDER_PROB` a large disc or square in front hides the back-most
instance in the middle frame; with :data:`LOOKALIKE_PROB` 2-3 instances
of one class look identical. Presets: :data:`SCENE_PRESETS` (each draws
the same random numbers as ``'default'`` for what they share).
"""
from dataclasses import dataclass, replace
from typing import Dict, List, Optional, Tuple

import numpy as np

from .classes import SYNTHETIC_VIS_CLASS_TEXTURES, SYNTHETIC_VIS_CLASSES
from .motion import MOTION_MODES, sample_pass_through, sample_trajectory
from .shapes import render_shape_mask
from .textures import (BACKGROUND_KINDS, paint_texture, render_background,
                       sample_object_colors)

MAX_INSTANCES = 6
MIN_VISIBLE_AREA = 16  # pixels; smaller visible parts count as absent
LOOKALIKE_PROB = 0.5
# probabilities of the modes in MOTION_MODES (bounce, excursion, drift,
# cross)
MOTION_MODE_PROBS = (0.45, 0.15, 0.15, 0.25)
SIZE_RANGE = (0.09, 0.17)  # object radius / min(height, width)
OCCLUDER_PROB = 0.3
OCCLUDER_SIZE = 0.22  # occluder radius / min(height, width)
OCCLUDER_CLASSES = ('disc', 'square')  # shapes that can hide others


@dataclass(frozen=True)
class ScenePreset:
    """What :func:`sample_scene` draws (see the module docstring).

    Attributes:
        min_instances (int): Fewest instances of a scene (the most is
            :data:`MAX_INSTANCES`).
        lookalike_prob (float): Probability of a look-alike group.
        max_lookalikes (int): Largest look-alike group (the smallest is 2).
        lookalikes_cross (bool): Look-alikes move on straight lines through
            points within half a radius of one meeting point, all in one
            frame (drawn in the middle half of the video).
        occluder_prob (float): Probability of a full occluder.
        num_frames (int): Frames per video unless the caller says otherwise.
        time_scale (float): Speed of every motion and spin relative to
            ``'default'`` (``time_scale`` of :func:`.sample_trajectory`).
    """
    min_instances: int = 1
    lookalike_prob: float = LOOKALIKE_PROB
    max_lookalikes: int = 3
    lookalikes_cross: bool = False
    occluder_prob: float = OCCLUDER_PROB
    num_frames: int = 12
    time_scale: float = 1.0


SCENE_PRESETS = {
    'default': ScenePreset(),
    'association': replace(
        ScenePreset(),
        min_instances=3,
        lookalike_prob=1.0,
        max_lookalikes=4,
        lookalikes_cross=True,
        occluder_prob=2 * OCCLUDER_PROB,
        num_frames=24),
    'slow': replace(ScenePreset(), time_scale=1 / 3),
}


@dataclass
class SceneInstance:
    """One object of a scene.

    Attributes:
        category (str): Class name, one of ``SYNTHETIC_VIS_CLASSES``.
        appearance (dict): ``size`` (radius, px), ``color_a``/``color_b``
            (BGR uint8 (3,)), ``period`` (texture period, px), ``angle``
            (rotation at frame 0, rad), ``spin`` (rad per frame).
            Look-alike instances share one dict.
        centers (np.ndarray): (L, 2) centres ``(x, y)`` per frame.
        motion (str): The motion mode that produced ``centers`` (one of
            ``MOTION_MODES``, ``'pass_behind'`` or ``'cross_lookalike'``).
    """
    category: str
    appearance: Dict
    centers: np.ndarray
    motion: str


@dataclass
class VideoScene:
    """A background and instances ordered back (first) to front (last)."""
    canvas_hw: Tuple[int, int]
    background: np.ndarray
    instances: List[SceneInstance]

    @property
    def num_frames(self) -> int:
        return len(self.instances[0].centers)


def sample_appearance(rng: np.random.Generator,
                      canvas_hw: Tuple[int, int],
                      relative_size: Optional[float] = None) -> Dict:
    """Random appearance of one object (see :class:`SceneInstance`).

    ``relative_size`` (radius / min(height, width)) is drawn from
    :data:`SIZE_RANGE` when not given.
    """
    if relative_size is None:
        relative_size = rng.uniform(*SIZE_RANGE)
    size = relative_size * min(canvas_hw)
    color_a, color_b = sample_object_colors(rng)
    return dict(
        size=size,
        color_a=color_a,
        color_b=color_b,
        period=max(3.0,
                   rng.uniform(0.35, 0.6) * size),
        angle=rng.uniform(0, 2 * np.pi),
        spin=rng.uniform(-0.08, 0.08))


def sample_crossing(rng: np.random.Generator,
                    group_size: int,
                    num_frames: int,
                    canvas_hw: Tuple[int, int],
                    size: float,
                    time_scale: float = 1.0) -> List[np.ndarray]:
    """Paths of ``group_size`` look-alikes that cross one another.

    Each path is a straight line (:func:`sample_pass_through`) through its
    own point within ``size / 2`` of a common meeting point inside the
    frame, all at one frame drawn from the middle half of the video.

    Returns:
        list[np.ndarray]: ``group_size`` arrays of (L, 2) centres (x, y).
    """
    height, width = canvas_hw
    meet = np.array([
        rng.uniform(size, max(size, width - size)),
        rng.uniform(size, max(size, height - size))
    ])
    first = num_frames // 4
    frame_id = int(rng.integers(first, max(first + 1, 3 * num_frames // 4)))
    return [
        sample_pass_through(rng, meet + rng.uniform(-size / 2, size / 2, 2),
                            frame_id, num_frames, time_scale)
        for _ in range(group_size)
    ]


def sample_scene(rng: np.random.Generator,
                 num_frames: int,
                 canvas_hw: Tuple[int, int],
                 preset: ScenePreset = SCENE_PRESETS['default']
                 ) -> VideoScene:
    """Sample a background and instances (not yet checked for presence).

    Args:
        rng (np.random.Generator): Random generator.
        num_frames (int): Frames of the video.
        canvas_hw (tuple[int, int]): ``(height, width)``.
        preset (ScenePreset): What to draw. Defaults to ``'default'``.

    Returns:
        VideoScene: Instances back (first) to front (last).
    """
    background = render_background(
        BACKGROUND_KINDS[rng.integers(len(BACKGROUND_KINDS))], canvas_hw, rng)
    num_instances = int(
        rng.integers(preset.min_instances, MAX_INSTANCES + 1))
    group = []  # (category, appearance) per instance
    if num_instances >= 2 and rng.random() < preset.lookalike_prob:
        category = SYNTHETIC_VIS_CLASSES[rng.integers(
            len(SYNTHETIC_VIS_CLASSES))]
        shared = sample_appearance(rng, canvas_hw)
        group_size = int(
            rng.integers(2, min(preset.max_lookalikes, num_instances) + 1))
        group = [(category, shared)] * group_size
    num_lookalikes = len(group)
    while len(group) < num_instances:
        group.append(
            (SYNTHETIC_VIS_CLASSES[rng.integers(len(SYNTHETIC_VIS_CLASSES))],
             sample_appearance(rng, canvas_hw)))
    instances = []
    for category, appearance in group:
        motion = MOTION_MODES[rng.choice(
            len(MOTION_MODES), p=MOTION_MODE_PROBS)]
        centers = sample_trajectory(rng, motion, num_frames, canvas_hw,
                                    appearance['size'], preset.time_scale)
        instances.append(SceneInstance(category, appearance, centers, motion))
    if preset.lookalikes_cross and num_lookalikes:
        paths = sample_crossing(rng, num_lookalikes, num_frames, canvas_hw,
                                group[0][1]['size'], preset.time_scale)
        for instance, centers in zip(instances, paths):
            instance.centers, instance.motion = centers, 'cross_lookalike'
    instances = [instances[i] for i in rng.permutation(num_instances)]
    if num_instances < MAX_INSTANCES and rng.random() < preset.occluder_prob:
        category = OCCLUDER_CLASSES[rng.integers(len(OCCLUDER_CLASSES))]
        appearance = sample_appearance(rng, canvas_hw, OCCLUDER_SIZE)
        occluder = SceneInstance(
            category, appearance,
            sample_trajectory(rng, 'bounce', num_frames, canvas_hw,
                              appearance['size'], preset.time_scale),
            'bounce')
        middle = num_frames // 2
        instances[0].centers = sample_pass_through(rng,
                                                   occluder.centers[middle],
                                                   middle, num_frames,
                                                   preset.time_scale)
        instances[0].motion = 'pass_behind'
        instances.append(occluder)
    if preset.time_scale != 1:
        # one scaled dict per appearance (look-alikes keep sharing theirs)
        scaled: Dict[int, Dict] = {}
        for instance in instances:
            look = instance.appearance
            if id(look) not in scaled:
                scaled[id(look)] = dict(
                    look, spin=look['spin'] * preset.time_scale)
            instance.appearance = scaled[id(look)]
    return VideoScene(canvas_hw, background, instances)


def render_frame(
        scene: VideoScene,
        frame_id: int) -> Tuple[np.ndarray, List[Optional[np.ndarray]]]:
    """Render frame ``frame_id`` of ``scene``.

    Returns:
        tuple: the BGR ``uint8`` image (H, W, 3) and, per instance (scene
        order), its visible bool mask (H, W) or ``None`` when absent (see
        the module docstring).
    """
    image = scene.background.copy()
    occupied = np.zeros(scene.canvas_hw, dtype=bool)
    masks = [None] * len(scene.instances)
    for index in reversed(range(len(scene.instances))):  # front to back
        instance = scene.instances[index]
        look = instance.appearance
        center = tuple(instance.centers[frame_id])
        angle = look['angle'] + look['spin'] * frame_id
        full = render_shape_mask(instance.category, center, look['size'],
                                 angle, scene.canvas_hw)
        visible = full & ~occupied
        occupied |= full
        paint_texture(image, visible,
                      SYNTHETIC_VIS_CLASS_TEXTURES[instance.category], center,
                      angle, look)
        if visible.sum() >= MIN_VISIBLE_AREA:
            masks[index] = visible
    return image, masks


def render_video(
    scene: VideoScene
) -> Tuple[List[np.ndarray], List[List[Optional[np.ndarray]]]]:  # noqa: E501
    """Render every frame of ``scene``.

    Returns:
        tuple: ``frames`` (list of L images) and ``masks`` where
        ``masks[i][t]`` is the mask of instance ``i`` in frame ``t`` or
        ``None``.
    """
    frames, per_frame = [], []
    for frame_id in range(scene.num_frames):
        image, masks = render_frame(scene, frame_id)
        frames.append(image)
        per_frame.append(masks)
    masks = [[per_frame[t][i] for t in range(scene.num_frames)]
             for i in range(len(scene.instances))]
    return frames, masks


def sample_rendered_video(rng: np.random.Generator,
                          num_frames: int,
                          canvas_hw: Tuple[int, int],
                          max_tries: int = 100,
                          preset: ScenePreset = SCENE_PRESETS['default']):
    """Sample scenes (:func:`sample_scene` with ``preset``) until every
    instance is present in some frame.

    Returns:
        tuple: ``(scene, frames, masks)`` as in :func:`render_video`.

    Raises:
        RuntimeError: No valid scene after ``max_tries`` samples (the
            canvas is too small for the objects).
    """
    for _ in range(max_tries):
        scene = sample_scene(rng, num_frames, canvas_hw, preset)
        frames, masks = render_video(scene)
        if all(any(m is not None for m in track) for track in masks):
            return scene, frames, masks
    raise RuntimeError(
        f'could not sample a video of {num_frames} frames of size '
        f'{canvas_hw} in which every instance is visible in some frame '
        f'after {max_tries} tries; use larger frames or more frames')
