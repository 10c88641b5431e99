"""Run lengths of many RLEs at once (mmvis_clip.structures.rle) and the batch
check of frame segmentations (mmvis_clip.structures.vis_format), against
pycocotools and the frame-by-frame check."""
import numpy as np
import pytest
from pycocotools import mask as mask_utils

from mmvis_clip.structures import rle as rle_module
from mmvis_clip.structures.rle import (COUNTS_STRING_PROBLEMS,
                                       decode_counts_strings, run_totals)
from mmvis_clip.structures.vis_format import (SegmentationBatch,
                                              VISFormatError,
                                              check_segmentation,
                                              rle_string_counts)


def _random_masks(seed, num=200):
    rng = np.random.default_rng(seed)
    masks = []
    for i in range(num):
        height, width = rng.integers(1, 40, 2)
        mask = rng.random((height, width)) < rng.random()
        if i % 7 == 0:
            mask[:] = False
        if i % 11 == 0:
            mask[:] = True
        masks.append(mask.astype(np.uint8))
    return masks


def _runs(mask):
    """Column-major run lengths, background first (by hand)."""
    flat = np.concatenate([[0], mask.flatten(order='F'), [2]])
    changes = np.flatnonzero(np.diff(flat)) + 1
    return np.diff(np.concatenate([[1], changes])).tolist()


def _python_decode(counts):
    """pycocotools' rleFrString, one character at a time."""
    data = counts.encode() if isinstance(counts, str) else counts
    runs, pos = [], 0
    while pos < len(data):
        value, shift, more = 0, 0, True
        while more:
            char = data[pos] - 48
            value |= (char & 0x1f) << shift
            more = bool(char & 0x20)
            pos += 1
            shift += 5
            if not more and char & 0x10:
                value |= -1 << shift
        if len(runs) > 2:
            value += runs[-2]
        runs.append(value)
    return runs


def test_decode_counts_strings_gives_pycocotools_runs():
    masks = _random_masks(0)
    encoded = [mask_utils.encode(np.asfortranarray(m)) for m in masks]
    # str and bytes counts, as json and pycocotools give them
    counts = [
        e['counts'].decode() if i % 2 else e['counts']
        for i, e in enumerate(encoded)
    ]
    decoded = decode_counts_strings(counts)
    assert not decoded.problems.any()
    for i, mask in enumerate(masks):
        runs = decoded.runs[decoded.offsets[i]:decoded.offsets[i + 1]]
        assert runs.tolist() == _runs(mask)
        assert decoded.totals[i] == mask.size
        assert decoded.areas[i] == mask.sum() == mask_utils.area(encoded[i])
        assert decoded.smallest[i] == min(_runs(mask))
    assert decode_counts_strings([]).runs.size == 0


def _python_problem(counts):
    """The problem code of a counts string, one character at a time."""
    if any(ord(c) > 127 for c in counts):
        return 1
    if any(not 48 <= ord(c) <= 111 for c in counts):
        return 2
    if counts and ord(counts[-1]) - 48 >= 32:
        return 3
    chars = 0
    for c in counts:
        chars += 1
        if ord(c) - 48 < 32:
            if chars > rle_module.MAX_NUMBER_CHARS:
                return 4
            chars = 0
    return 0


def test_decode_counts_strings_finds_what_the_string_check_finds():
    """Random strings over and beyond the RLE alphabet: the problem found
    one character at a time, the same as the one-string check's, and
    pycocotools' runs where there is none."""
    rng = np.random.default_rng(1)
    alphabet = [chr(c) for c in range(40, 116)]
    strings = [
        ''.join(rng.choice(alphabet, rng.integers(0, 25)))
        for _ in range(2000)
    ]
    strings += [
        '', 'é0', 'P', 'o' * 12 + '0', 'o' * 11 + '0', '0' * 3,
        'ooooooooooooooooooooooo1'
    ]
    decoded = decode_counts_strings(strings)
    seen = set()
    for i, counts in enumerate(strings):
        try:
            runs = rle_string_counts(counts)
            problem = 0
        except ValueError as err:
            problem = COUNTS_STRING_PROBLEMS.index(str(err))
        seen.add(problem)
        assert decoded.problems[i] == problem == _python_problem(counts), \
            counts
        if problem == 0:
            ours = decoded.runs[decoded.offsets[i]:decoded.offsets[i + 1]]
            assert ours.tolist() == runs.tolist() == _python_decode(counts)
    assert seen == set(range(len(COUNTS_STRING_PROBLEMS)))


def test_run_totals_of_runs_given_at_any_offset():
    lists = [[3, 2, 1], [], [0, 5], [4], [1, 1, 1, 1, 7]]
    runs = np.array([r for runs in lists for r in runs], np.int64)
    offsets = np.concatenate([[0], np.cumsum([len(r) for r in lists])])
    totals, smallest, areas = run_totals(runs, offsets)
    assert totals.tolist() == [6, 0, 5, 4, 11]
    assert smallest.tolist() == [1, 0, 0, 4, 1]
    assert areas.tolist() == [2, 0, 5, 0, 2]


def _frame_errors(tracks, height, width):
    """The first error of a frame-by-frame check, as the batch names it."""
    for t, track in enumerate(tracks):
        for f, segmentation in enumerate(track):
            if segmentation:
                try:
                    check_segmentation(segmentation, height, width,
                                       f'track {t}, frame {f}')
                except VISFormatError as err:
                    return str(err)
    return None


def _batch_error(tracks, height, width):
    batch = SegmentationBatch()
    try:
        for t, track in enumerate(tracks):
            batch.add_track(track, height, width, f'track {t}')
    except VISFormatError as structural:
        try:
            batch.raise_first_problem()
        except VISFormatError as err:
            return str(err)
        return str(structural)
    try:
        batch.finish()
    except VISFormatError as err:
        return str(err)
    return None


def _faults(height, width):
    """One wrong frame segmentation of each kind."""
    mask = np.zeros((height, width), np.uint8)
    mask[1:3, 2:4] = 1
    good = mask_utils.encode(np.asfortranarray(mask))
    good = dict(size=[height, width], counts=good['counts'].decode())
    runs = _runs(mask)
    return {
        'short string': dict(good, counts=good['counts'][:-1] + '1'),
        'truncated': dict(good, counts=good['counts'] + 'P'),
        'outside alphabet': dict(good, counts=good['counts'] + '~'),
        'negative run': dict(good, counts=mask_utils.frPyObjects(
            dict(size=[height, width], counts=[5, 4, 1]), height,
            width)['counts'].decode()[:1] + 'R' + 'j0'),
        'list too long': dict(size=[height, width], counts=runs + [3]),
        'list negative': dict(size=[height, width], counts=[-1] + runs),
        'list with a bool': dict(size=[height, width],
                                 counts=[True] + runs[1:]),
        'list with a float': dict(size=[height, width],
                                  counts=[0.5] + runs[1:]),
        'list with a nan': dict(size=[height, width],
                                counts=[float('nan')] + runs[1:]),
        'huge int': dict(size=[height, width], counts=[2**70] + runs[1:]),
        'other size': dict(good, size=[height + 1, width]),
        'polygon outside': [[0, 0, width + 1, 0, 3, 3]],
        'no counts': dict(size=[height, width]),
    }


def test_batch_check_gives_the_first_error_of_a_frame_by_frame_check():
    """Two faults anywhere in a dataset: the batch reports the one the
    frame-by-frame check meets first, with its message."""
    height, width = 6, 8
    mask = np.zeros((height, width), np.uint8)
    mask[2:5, 1:6] = 1
    good = mask_utils.encode(np.asfortranarray(mask))
    good_str = dict(size=[height, width], counts=good['counts'].decode())
    good_list = dict(size=[height, width], counts=_runs(mask))
    faults = _faults(height, width)
    rng = np.random.default_rng(2)
    names = sorted(faults)
    for trial in range(150):
        tracks = [[good_str if (t + f) % 3 else
                   (good_list if f % 2 else None) for f in range(4)]
                  for t in range(5)]
        for _ in range(2):
            t, f = rng.integers(0, 5), rng.integers(0, 4)
            tracks[t][f] = faults[names[rng.integers(0, len(names))]]
        expected = _frame_errors(tracks, height, width)
        assert expected is not None
        assert _batch_error(tracks, height, width) == expected, trial
    for name, fault in faults.items():
        assert _frame_errors([[fault]], height, width) is not None, name


def test_batch_gives_rles_and_areas_of_every_kind():
    height, width = 6, 8
    mask = np.zeros((height, width), np.uint8)
    mask[2:5, 1:6] = 1
    encoded = mask_utils.encode(np.asfortranarray(mask))
    kinds = [
        dict(size=[height, width], counts=encoded['counts'].decode()),
        dict(size=[height, width], counts=encoded['counts']),  # bytes
        dict(size=[height, width], counts=_runs(mask)),
        dict(size=[height, width],
             counts=[float(r) for r in _runs(mask)]),
        [[1, 2, 6, 2, 6, 5, 1, 5]],  # a polygon: pixels x 1-5, y 2-4
        dict(size=[float(height), width], counts=_runs(mask)),
    ]
    batch = SegmentationBatch()
    slots = batch.add_track(kinds + [None, {}], height, width, 'track')
    assert slots[-2:] == [-1, -1]
    rles, areas, runs = batch.finish()
    assert len(rles) == len(kinds) and areas.dtype == np.float64
    assert len(runs.offsets) == len(kinds) + 1
    for i, (rle, area) in enumerate(zip(rles, areas)):
        decoded = mask_utils.decode(
            dict(size=[height, width], counts=rle['counts']))
        assert (decoded == mask).all()
        assert area == mask.sum() == 15
        # every kind's runs, in slot order
        assert runs.runs[runs.offsets[i]:runs.offsets[i + 1]].tolist() == \
            _runs(mask)


def test_join_frame_runs_puts_each_mask_at_its_index():
    from mmvis_clip.structures.rle import FrameRuns, join_frame_runs

    def store(lists):
        return FrameRuns(
            np.array([r for runs in lists for r in runs], np.int64),
            np.concatenate([[0], np.cumsum([len(r) for r in lists])]))

    joined = join_frame_runs(5, (np.array([3, 0]), store([[1, 2], [7]])),
                             (np.array([1, 4, 2]), store([[], [4, 4, 4],
                                                          [9, 1]])))
    masks = [
        joined.runs[joined.offsets[i]:joined.offsets[i + 1]].tolist()
        for i in range(5)
    ]
    assert masks == [[7], [], [9, 1], [1, 2], [4, 4, 4]]


def test_track_intersections_against_pycocotools_frame_by_frame():
    """Random tracks (masks absent, empty, full, any shape): the pixels
    shared, summed over frames, equal pycocotools' merge areas."""
    from mmvis_clip.structures.rle import (FrameRuns,
                                           decode_counts_strings,
                                           track_intersections)
    rng = np.random.default_rng(4)
    height, width, frames = 17, 23, 5

    def random_track():
        track = []
        for _ in range(frames):
            kind = rng.integers(6)
            if kind == 0:
                track.append(None)
                continue
            mask = np.zeros((height, width), np.uint8)
            if kind == 1:
                mask[:] = 1
            elif kind in (2, 3):
                y0, x0 = rng.integers(0, height), rng.integers(0, width)
                h, w = rng.integers(1, 9, 2)
                mask[y0:y0 + h, x0:x0 + w] = 1
            elif kind == 4:
                mask[:] = rng.random((height, width)) < 0.3
            track.append(mask_utils.encode(np.asfortranarray(mask)))
        return track

    dts = [random_track() for _ in range(6)]
    gts = [random_track() for _ in range(4)]

    def store(tracks):
        rles = [rle for track in tracks for rle in track if rle is not None]
        decoded = decode_counts_strings([rle['counts'] for rle in rles])
        slots, k = [], 0
        for track in tracks:
            row = []
            for rle in track:
                row.append(-1 if rle is None else k)
                k += rle is not None
            slots.append(row)
        return FrameRuns(decoded.runs, decoded.offsets), np.array(slots)

    shared = track_intersections(*store(dts), *store(gts))
    for d, dt in enumerate(dts):
        for g, gt in enumerate(gts):
            expected = sum(
                int(mask_utils.area(mask_utils.merge([a, b], True)))
                for a, b in zip(dt, gt) if a is not None and b is not None)
            assert shared[d, g] == expected, (d, g)
    assert shared.any()


def test_int_lists_keeps_exact_ints_only():
    from mmvis_clip.structures.rle import int_lists
    lists = [[3, 0, 5], [], [1, True], [2, 1.0], [np.int64(4)], [2**63],
             [-(2**63), 2**63 - 1]]
    read = int_lists(lists)
    assert read.exact.tolist() == [
        True, True, False, False, False, False, True
    ]
    assert read.offsets.tolist() == [0, 3, 3, 3, 3, 3, 3, 5]
    assert read.runs.tolist() == [3, 0, 5, -(2**63), 2**63 - 1]
    # totals by hand (the last wraps in 64 bits: -1), 0 for a list left out
    assert read.totals.tolist() == [8, 0, 0, 0, 0, 0, -1]
    assert read.smallest.tolist() == [0, 0, 0, 0, 0, 0, -(2**63)]
    assert read.areas.tolist() == [0, 0, 0, 0, 0, 0, 2**63 - 1]
    with pytest.raises(TypeError):
        int_lists([(1, 2)])


def test_missing_compiled_module_says_how_to_build():
    import subprocess
    import sys
    code = ('__runs_no_model__ = True\n'
            'import sys\n'
            "sys.modules['mmvis_clip.structures._rle_runs'] = None\n"
            'import mmvis_clip.structures.rle\n')
    proc = subprocess.run([sys.executable, '-c', code],
                          capture_output=True,
                          text=True)
    assert proc.returncode != 0
    last = proc.stderr.strip().splitlines()[-1]
    assert "mmvis_clip's compiled module is missing" in last
    assert 'pip install -e .' in last


def _python_kind(seg, height, width):
    """The kind of a present frame, by its types (vis_format's rule)."""
    if type(seg) is not dict:
        return 2
    size, counts = seg.get('size'), seg.get('counts')
    if not (type(size) is list and len(size) == 2
            and all(type(v) is int for v in size)
            and size == [height, width]):
        return 2
    return 0 if type(counts) is str else 1 if type(counts) is list else 2


def test_frame_kinds_sort_frames_as_their_types_say():
    from mmvis_clip.structures._vis_format_scan import frame_kinds
    height, width = 4, 6
    frames = [
        None, {}, [], '', 0,
        dict(size=[4, 6], counts='abc'),
        dict(size=[4, 6], counts=[24]),
        dict(size=[4, 6], counts=b'abc'),
        dict(size=(4, 6), counts='abc'),
        dict(size=[True, 6], counts='abc'),
        dict(size=[4.0, 6], counts=[24]),
        dict(size=[np.int64(4), 6], counts=[24]),
        dict(size=[4, 6, 1], counts=[24]),
        dict(size=[2**70, 6], counts=[24]),
        dict(counts=[24]),
        [[1, 2, 3, 4, 5, 6]],
        dict(size=[4, 7], counts=[28]),
    ]
    slots, kinds, present = frame_kinds(frames, height, width, 10)
    expected = [_python_kind(f, height, width) for f in frames if f]
    assert list(kinds) == expected
    assert list(present) == [int(bool(f)) for f in frames]
    assert slots == [-1] * 5 + list(range(10, 10 + len(expected)))
    assert expected[:3] == [0, 1, 2] and set(expected[3:]) == {2}


def test_encode_runs_writes_pycocotools_strings():
    from mmvis_clip.structures.rle import FrameRuns, encode_runs
    masks = _random_masks(2)
    # and runs pycocotools would never write: empty runs inside, a mask
    # without runs, long runs
    lists = [_runs(m) for m in masks] + [[0, 0, 5, 0, 0, 3], [], [2**31, 7]]
    runs = FrameRuns(
        np.array([r for runs in lists for r in runs], np.int64),
        np.concatenate([[0], np.cumsum([len(r) for r in lists])]))
    strings = encode_runs(runs)
    for mask, counts in zip(masks, strings):
        assert counts == mask_utils.encode(np.asfortranarray(mask))['counts']
    for runs_of, counts in zip(lists, strings):
        # what decodes back, pycocotools' way
        assert _python_decode(counts) == runs_of
