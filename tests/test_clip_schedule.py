"""ClipSchedule: CiCo's clips of a frame stream, against hand-cut videos."""
import itertools

import pytest

from mmvis_clip.models.vis.clip_schedule import ClipSchedule


def stream(num_frames, clip_len, overlap):
    """(frame at which each clip came out, clip) over a whole video; the
    end of the video is frame ``num_frames``."""
    schedule = ClipSchedule(clip_len, overlap)
    out = [(t, schedule.push(t)) for t in range(num_frames)]
    out.append((num_frames, schedule.end()))
    return [(t, clip) for t, clip in out if clip is not None]


@pytest.mark.parametrize('num_frames,clip_len,overlap,expected', [
    (5, 3, 1, [[0, 1, 2], [2, 3, 4]]),
    (6, 3, 1, [[0, 1, 2], [2, 3, 4], [4, 5, 5]]),
    (2, 3, 1, [[0, 1, 1]]),
    (1, 3, 0, [[0, 0, 0]]),
    (3, 3, 1, [[0, 1, 2]]),
    (7, 3, 0, [[0, 1, 2], [3, 4, 5], [6, 6, 6]]),
    (4, 3, 2, [[0, 1, 2], [1, 2, 3]]),
    (3, 1, 0, [[0], [1], [2]]),
    (6, 5, 2, [[0, 1, 2, 3, 4], [3, 4, 5, 5, 5]]),
])
def test_clips_by_hand(num_frames, clip_len, overlap, expected):
    assert [clip for _, clip in stream(num_frames, clip_len,
                                       overlap)] == expected


@pytest.mark.parametrize('clip_len,overlap', [(1, 0), (2, 1), (3, 0), (3, 1),
                                              (3, 2), (5, 2)])
def test_clip_properties(clip_len, overlap):
    for num_frames in range(1, 15):
        out = stream(num_frames, clip_len, overlap)
        clips = [clip for _, clip in out]
        assert all(len(c) == clip_len for c in clips)
        assert sorted(set(itertools.chain(*clips))) == list(range(num_frames))
        for prev, cur in zip(clips, clips[1:]):
            assert cur[0] == prev[0] + clip_len - overlap
            assert prev[-1] < num_frames - 1  # no clip after the last frame
        assert clips[-1][-1] == num_frames - 1
        # a clip comes out at the frame completing it; only a padded one
        # at the end of the video
        for t, clip in out:
            if t < num_frames:
                assert clip[-1] == t and len(set(clip)) == clip_len
            else:
                assert len(set(clip)) < clip_len


def test_reset_and_end_start_a_new_video():
    schedule = ClipSchedule(3, 1)
    assert [schedule.push(t) for t in 'abcd'] == [None, None, list('abc'),
                                                  None]
    assert schedule.end() == list('cdd')
    assert schedule.end() is None  # the video ended: nothing left
    schedule.push('x')
    schedule.reset()
    assert [schedule.push(t) for t in 'pqr'] == [None, None, list('pqr')]
    assert schedule.buffer == ['r']  # the next clip's first frame only


def test_final_frames_hold_the_overlap_until_the_next_clip():
    schedule = ClipSchedule(3, 1)
    calls = []

    def result(position, copy):
        calls.append((position, copy))
        return f'p{position}'

    assert schedule.final_frames([0, 1, 2], result) == [(0, 'p0'), (1, 'p1')]
    assert schedule.held == [(2, 'p2')] and calls[-1] == (2, True)
    # the next clip writes frame 2 again; its own last frame is held
    assert schedule.final_frames([2, 3, 4], result) == [(2, 'p0'), (3, 'p1')]
    # a padded last clip: every frame once, at its first position
    assert schedule.final_frames([4, 5, 5], result, last=True) == [
        (4, 'p0'), (5, 'p1')
    ]
    assert schedule.release() == []
    schedule.final_frames([0, 1, 2], result)
    assert schedule.release() == [(2, 'p2')]  # the video's last frame
    assert schedule.held == [] and schedule.buffer == []


def test_no_overlap_holds_nothing():
    schedule = ClipSchedule(3, 0)
    ready = schedule.final_frames([3, 4, 5], lambda p, copy: (p, copy))
    assert ready == [(3, (0, False)), (4, (1, False)), (5, (2, False))]
    assert schedule.release() == []
