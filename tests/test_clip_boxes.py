"""Circumscribed boxes (CiCo Eq. 4) and the matcher's frames, by hand."""
import pytest
import torch

from mmvis_clip.models.utils.clip_boxes import (circumscribed_boxes,
                                                has_valid_box, matching_frames)

BOXES = torch.tensor([
    [[10., 20., 30., 40.], [5., 25., 28., 50.], [12., 18., 35., 45.]],
    [[0., 0., 10., 10.], [100., 100., 200., 200.], [4., 2., 8., 12.]],
    [[1., 2., 3., 4.], [5., 6., 7., 8.], [9., 9., 9., 9.]],
])
VALID = torch.tensor([[True, True, True], [True, False, True],
                      [False, False, False]])


def test_all_frames_all_valid():
    out = circumscribed_boxes(BOXES[:1])
    assert out.tolist() == [[5., 18., 35., 50.]]


def test_absent_frames_ignored_and_all_absent_row_is_zero():
    out = circumscribed_boxes(BOXES, VALID)
    # row 1: frame 1 (the large box) is absent and must not count
    assert out.tolist() == [[5., 18., 35., 50.], [0., 0., 10., 12.],
                            [0., 0., 0., 0.]]
    assert has_valid_box(VALID).tolist() == [True, True, False]


def test_frames_subset():
    out = circumscribed_boxes(BOXES, VALID, frames=[1, 2])
    assert out.tolist() == [[5., 18., 35., 50.], [4., 2., 8., 12.],
                            [0., 0., 0., 0.]]
    # object 1 only present in frame 0 and 2: subset [1] leaves nothing
    out = circumscribed_boxes(BOXES, VALID, frames=[1])
    assert out.tolist() == [[5., 25., 28., 50.], [0., 0., 0., 0.],
                            [0., 0., 0., 0.]]
    assert has_valid_box(VALID, frames=[1]).tolist() == [True, False, False]


def test_single_frame_and_negative_coordinates():
    boxes = torch.tensor([[[-3., -4., 5., 6.]]])
    assert circumscribed_boxes(boxes).tolist() == [[-3., -4., 5., 6.]]
    assert circumscribed_boxes(
        boxes, torch.tensor([[False]])).tolist() == [[0., 0., 0., 0.]]


def test_empty_and_bad_input():
    assert circumscribed_boxes(torch.zeros(0, 3, 4)).shape == (0, 4)
    # internal contracts: asserts
    with pytest.raises(AssertionError, match='frames'):
        circumscribed_boxes(BOXES, frames=[3])
    with pytest.raises(AssertionError, match='valid'):
        circumscribed_boxes(BOXES, VALID.float())
    with pytest.raises(AssertionError):
        circumscribed_boxes(BOXES[0])


def test_matching_frames():
    assert matching_frames(3) == [0, 1, 2]
    assert matching_frames(5) == [1, 2, 3]
    assert matching_frames(5, radius=2) == [0, 1, 2, 3, 4]
    assert matching_frames(4) == [0, 1, 2]
    assert matching_frames(2) == [0, 1]
    assert matching_frames(1) == [0]
    assert matching_frames(7, radius=0) == [3]
    assert matching_frames(7, radius=10) == list(range(7))
    assert matching_frames(4, radius=None) == [0, 1, 2, 3]
    with pytest.raises(ValueError):
        matching_frames(0)
