"""tools/analysis/tracker_merge_rate.py: hand-built scenes and a small run."""
import importlib.util
import os.path as osp

import numpy as np
import pytest

REPO = osp.dirname(osp.dirname(osp.abspath(__file__)))
spec = importlib.util.spec_from_file_location(
    'tracker_merge_rate',
    osp.join(REPO, 'tools', 'analysis', 'tracker_merge_rate.py'))
merge_rate = importlib.util.module_from_spec(spec)
spec.loader.exec_module(merge_rate)

DEFAULT, THRESHOLD = merge_rate.RULES


def _embed(*coords):
    vector = np.zeros(merge_rate.EMBED_DIM)
    vector[:len(coords)] = coords
    return vector


def _scene(new_box, cos):
    """Object 0 stays at [0, 0, 100, 100] (17% of the 180 x 320 frame) in
    4 clips; object 1 (label 1) is seen in clip 0 only; object 2 (label 1,
    embedding cosine ``cos`` with object 1's) appears at ``new_box`` in
    clip 1, far from both."""
    clips = [[0, 1, 2], [2, 3, 4], [4, 5, 6], [6, 7, 8]]
    e0, e1 = _embed(1.0), _embed(0.0, 1.0)
    e2 = _embed(0.0, cos, (1 - cos**2)**0.5)
    dets = []
    for k in range(4):
        clip = [(0, [[0, 0, 100, 100]] * 3, e0, 0, 0.9)]
        if k == 0:
            clip.append((1, [[200, 0, 300, 100]] * 3, e1, 1, 0.8))
        else:
            clip.append((2, [new_box] * 3, e2, 1, 0.7))
        dets.append(clip)
    objects = [
        dict(first=0, last=3, new=False, near=False),
        dict(first=0, last=0, new=False, near=False),
        dict(first=1, last=3, new=True, near=False),
    ]
    return dict(clips=clips, dets=dets, objects=objects)


@pytest.mark.parametrize(
    'new_box,merged_by_default',
    [
        # 100 x 70 px (12% of the frame): the authors' dummy is
        # 0.5 + 0.07 + 2 x (0.5 + 0.5) x 0.3 + 0.3 = 1.47 above the
        # vanished track's (0.9 + 1) / 2 + 0.07 + 0.3 = 1.32
        ([100, 110, 200, 180], False),
        # 40 x 40 px (2.8%, small): the dummy's IoUs are halved, 1.17 < 1.32
        ([120, 130, 160, 170], True),
    ])
def test_counts_on_a_hand_built_scene(new_box, merged_by_default):
    scene = _scene(new_box, cos=0.9)
    counts = {
        name: merge_rate.run_rule([scene], 3, 1, **merge_rate.RULES[name])
        for name in (DEFAULT, THRESHOLD)
    }
    # the threshold rule merges (1.32 > 0.5); object 0 keeps its id in
    # its 4 clips; object 1 (one clip) is not a continuing object
    assert counts[THRESHOLD] == dict(
        new=1, merged=1, merged_near=0, merged_far=1, new_dropped=0,
        continuing=1, kept=1)
    assert counts[DEFAULT] == dict(
        new=1,
        merged=int(merged_by_default),
        merged_near=0,
        merged_far=int(merged_by_default),
        new_dropped=0,
        continuing=1,
        kept=1)


def test_same_scenes_for_every_rule_and_seeded():
    args = (8, 3, 1, 0.25, (0.0, 0.8))
    one = merge_rate.make_scene(np.random.default_rng([0, 3]), *args)
    two = merge_rate.make_scene(np.random.default_rng([0, 3]), *args)
    assert one['clips'] == two['clips']
    for clip_one, clip_two in zip(one['dets'], two['dets']):
        assert [(d[0], d[1], d[3], d[4]) for d in clip_one] == \
            [(d[0], d[1], d[3], d[4]) for d in clip_two]
    # new objects have the class of an object that vanished before them
    for obj in one['objects']:
        if obj['new']:
            assert any(not o['new'] and o['label'] == obj['label']
                       and o['last'] < obj['first'] for o in one['objects'])


def test_main_default_merges_no_more_than_threshold_rule(capsys):
    results = merge_rate.main(['--scenes', '6', '--seed', '1'])
    out = capsys.readouterr().out
    assert DEFAULT in out and THRESHOLD in out
    default, threshold = results[DEFAULT], results[THRESHOLD]
    assert default['new'] == threshold['new'] > 0
    assert default['merged'] <= threshold['merged']
    for counts in results.values():
        assert counts['continuing'] > 0
        assert counts['kept'] == counts['continuing']
        assert counts['merged'] == counts['merged_near'] + \
            counts['merged_far']


@pytest.mark.parametrize('argv,message', [
    (['--scenes', '0'], '--scenes must be >= 1'),
    (['--overlap', '3'], '--clip-len must be >= 1 and 0 <= --overlap < '
     '--clip-len'),
    (['--near', '1.5'], '--near must be in [0, 1]'),
    (['--sim', '0.8', '0.2'], '--sim needs -1 <= LOW <= HIGH <= 1'),
    (['--clips', '2'], '--clips must be >= 4'),
])
def test_bad_arguments_are_one_line_errors(argv, message, capsys):
    with pytest.raises(SystemExit) as exc:
        merge_rate.main(argv)
    assert exc.value.code == 2
    # argparse: the usage line, then the error on one line
    err = capsys.readouterr().err.strip().splitlines()
    assert err[0].startswith('usage:')
    assert err[-1].endswith(f': error: {message}')
