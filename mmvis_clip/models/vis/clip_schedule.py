"""Cut a stream of frames into the overlapping clips of CiCo's inference,
and say which frames of each clip are final."""
from typing import Any, Callable, List, Optional, Sequence, Tuple

from mmengine.structures import InstanceData


class ClipSchedule:
    """Frames in, clips out: the one owner of CiCo's clip schedule.

    Clips of ``clip_len`` frames start at frames ``0, s, 2s, ...`` with
    stride ``s = clip_len - overlap`` (CiCo paper, Sec. 3.4 and Table 2:
    ``overlap`` = To), until a clip reaches the last frame. A clip running
    past the video's end (the last one, or the only one of a video shorter
    than ``clip_len``) is padded by repeating the last frame, as the clip
    sampler does in training; e.g. 5 frames, ``clip_len=3``, ``overlap=1``
    give ``[[0, 1, 2], [2, 3, 4]]`` and 6 frames give ``[[0, 1, 2],
    [2, 3, 4], [4, 5, 5]]``. Only the frames of the next clip are kept.

    Outputs are written once per video frame, from the latest clip that
    covers it (the CiCo authors' rule): :meth:`final_frames` holds back the
    last ``overlap`` frames of a clip, which the next clip covers again,
    and :meth:`release` gives them at the end of the video.

    Args:
        clip_len (int): Frames per clip T (>= 1).
        overlap (int): Frames shared by consecutive clips, ``0 <= overlap <
            clip_len``.
    """

    def __init__(self, clip_len: int, overlap: int) -> None:
        assert isinstance(clip_len, int) and clip_len >= 1, clip_len
        assert isinstance(overlap, int) and 0 <= overlap < clip_len, overlap
        self.clip_len = clip_len
        self.overlap = overlap
        self.reset()

    def reset(self) -> None:
        """Start a new video."""
        self.buffer: List[Any] = []
        self.num_new = 0  # buffered frames not yet in a clip
        self.held: List[Tuple[int, Any]] = []

    def push(self, frame: Any) -> Optional[List[Any]]:
        """Add the next frame (anything); the clip it completes, if any.

        Returns:
            list | None: ``clip_len`` frames, or None.
        """
        self.buffer.append(frame)
        self.num_new += 1
        if len(self.buffer) < self.clip_len:
            return None
        clip = self.buffer
        self.buffer = clip[self.clip_len - self.overlap:]
        self.num_new = 0
        return clip

    def end(self) -> Optional[List[Any]]:
        """End the video: the padded last clip if frames are left that no
        clip has covered, else None.

        Returns:
            list | None: ``clip_len`` frames, or None.
        """
        clip = None
        if self.num_new:
            clip = self.buffer + [self.buffer[-1]] * (
                self.clip_len - len(self.buffer))
        self.buffer, self.num_new = [], 0
        return clip

    def final_frames(self, frame_ids: Sequence[int],
                     frame_result: Callable[[int, bool], Any],
                     last: bool = False) -> List[Tuple[int, Any]]:
        """The frames of a clip that are final once it is processed.

        Args:
            frame_ids (Sequence[int]): The clip's frame ids (a padded clip
                repeats its last one).
            frame_result (callable): ``frame_result(position, copy)``: the
                result of the frame at ``position`` in the clip (e.g.
                :func:`frame_of_clip`); ``copy`` for a held frame.
            last (bool): The video ends with this clip: nothing is held.

        Returns:
            list[tuple[int, Any]]: ``(frame_id, result)`` in frame order: the
            clip's frames (a repeated id once, at its first position)
            except its last ``overlap``, which are held until the next clip
            replaces them or :meth:`release`.
        """
        held = () if last else set(frame_ids[self.clip_len - self.overlap:])
        first = dict()
        for position, frame_id in enumerate(frame_ids):
            first.setdefault(frame_id, position)
        ready, self.held = [], []
        for frame_id, position in first.items():
            if frame_id in held:
                self.held.append((frame_id, frame_result(position, True)))
            else:
                ready.append((frame_id, frame_result(position, False)))
        return ready

    def release(self) -> List[Tuple[int, Any]]:
        """The held frames at the end of the video; then :meth:`reset`."""
        held = self.held
        self.reset()
        return held


def frame_of_clip(outputs: InstanceData,
                  position: int,
                  copy: bool = False) -> InstanceData:
    """The tracked objects of a clip at one of its frames.

    Args:
        outputs (InstanceData): A clip's ``bboxes`` (n, T, 4), ``masks``
            (n, T, H, W), ``labels`` (n, ), ``scores`` (n, ) and
            ``instances_id`` (n, ).
        position (int): The frame's position in the clip.
        copy (bool): Clone the tensors (a held frame must not keep the
            whole clip's alive).

    Returns:
        InstanceData: ``bboxes`` (n, 4), ``masks`` (n, H, W) and the
        per-object fields.
    """
    fields = dict(
        bboxes=outputs.bboxes[:, position],
        masks=outputs.masks[:, position],
        labels=outputs.labels,
        scores=outputs.scores,
        instances_id=outputs.instances_id)
    if copy:
        fields = {k: v.detach().clone() for k, v in fields.items()}
    return InstanceData(**fields)
