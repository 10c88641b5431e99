"""The overlapping clips of CiCo's inference and their final frames."""
from typing import Any, Callable, List, Optional, Sequence, Tuple

from mmengine.structures import InstanceData


class ClipSchedule:
    """Frames in, clips out (CiCo paper, Sec. 3.4; ``overlap`` is To).

    Clips start every ``clip_len - overlap`` frames; one running past the
    video's end is padded with its last frame (6 frames, T=3, To=1:
    ``[[0, 1, 2], [2, 3, 4], [4, 5, 5]]``). Each frame is written from the
    latest clip that covers it (``configs/cico/README.md``, "The clip
    tracker").

    Args:
        clip_len (int): Frames per clip T (>= 1).
        overlap (int): Frames shared by consecutive clips, in
            ``[0, clip_len)``.
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
        """Add the next frame (anything); the clip (``clip_len`` frames) it
        completes, else None."""
        self.buffer.append(frame)
        self.num_new += 1
        if len(self.buffer) < self.clip_len:
            return None
        clip = self.buffer
        self.buffer = clip[self.clip_len - self.overlap:]
        self.num_new = 0
        return clip

    def end(self) -> Optional[List[Any]]:
        """End the video: the padded last clip (``clip_len`` frames) if
        some frames are in no clip yet, else None."""
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
            frame_ids (Sequence[int]): The clip's frame ids.
            frame_result (callable): ``frame_result(position, copy)``, e.g.
                :func:`frame_of_clip`; ``copy`` for a held frame.
            last (bool): The video ends with this clip: nothing is held.

        Returns:
            list[tuple[int, Any]]: ``(frame_id, result)`` in frame order,
            each id once, but the last ``overlap`` (held).
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
    """A clip's objects (``bboxes`` (n, T, 4), ``masks`` (n, T, H, W),
    ``labels``, ``scores``, ``instances_id`` (n, )) at frame ``position``:
    ``bboxes`` (n, 4), ``masks`` (n, H, W); ``copy`` clones the tensors."""
    fields = dict(
        bboxes=outputs.bboxes[:, position],
        masks=outputs.masks[:, position],
        labels=outputs.labels,
        scores=outputs.scores,
        instances_id=outputs.instances_id)
    if copy:
        fields = {k: v.detach().clone() for k, v in fields.items()}
    return InstanceData(**fields)
