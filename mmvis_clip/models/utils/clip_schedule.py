"""Split a video into the overlapping clips of CiCo's inference."""
from typing import List


def clip_starts(num_frames: int, clip_len: int,
                overlap: int) -> List[List[int]]:
    """Frame indices of the clips covering a video, in order.

    Clips of ``clip_len`` frames start at frames ``0, s, 2s, ...`` with
    stride ``s = clip_len - overlap`` (CiCo paper, Sec. 3.4 and Table 2:
    ``overlap`` = To), until a clip reaches the last frame. A clip running
    past the video's end (the last one, or the only one of a video shorter
    than ``clip_len``) is padded by repeating the last frame index, as the
    clip sampler does in training; e.g. 5 frames, ``clip_len=3``,
    ``overlap=1`` give ``[[0, 1, 2], [2, 3, 4]]`` and 6 frames give
    ``[[0, 1, 2], [2, 3, 4], [4, 5, 5]]``.

    Args:
        num_frames (int): Frames in the video (>= 1).
        clip_len (int): Frames per clip T (>= 1).
        overlap (int): Frames shared by consecutive clips, ``0 <= overlap <
            clip_len``.

    Returns:
        list[list[int]]: One list of ``clip_len`` frame indices per clip.
    """
    for name, value in (('num_frames', num_frames), ('clip_len', clip_len)):
        if not isinstance(value, int) or value < 1:
            raise ValueError(f'{name} must be an int >= 1, got {value!r}.')
    if not isinstance(overlap, int) or not 0 <= overlap < clip_len:
        raise ValueError(f'overlap must be an int in [0, clip_len={clip_len}'
                         f'), got {overlap!r}.')
    stride = clip_len - overlap
    last = num_frames - 1
    clips = []
    start = 0
    while True:
        clips.append([min(start + i, last) for i in range(clip_len)])
        if start + clip_len - 1 >= last:
            return clips
        start += stride
