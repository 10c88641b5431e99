"""tools/analysis/eval_vis.py on a hand-computed case."""
import json
import os
import runpy
import subprocess
import sys
import zipfile
from pathlib import Path

import numpy as np
import pytest
from pycocotools import mask as mask_utils

REPO = Path(__file__).resolve().parents[1]
SCRIPT = REPO / 'tools' / 'analysis' / 'eval_vis.py'
STAT_NAMES = [
    'AP', 'AP50', 'AP75', 'APs', 'APm', 'APl', 'AR1', 'AR10', 'AR100', 'ARs',
    'ARm', 'ARl'
]


def rows(first, last, extra=0):
    """RLE of rows first..last of a 10x10 frame, plus ``extra`` pixels of
    the next row."""
    mask = np.zeros((10, 10), np.uint8)
    mask[first:last + 1] = 1
    if extra:
        mask[last + 1, :extra] = 1
    encoded = mask_utils.encode(np.asfortranarray(mask))
    encoded['counts'] = encoded['counts'].decode()
    return encoded


def write_case(folder):
    """One 10x10 video, two frames, two ground-truth instances.

    Instance 1 (rows 0-3, then rows 0-3 and 3 pixels) is predicted as rows
    0-4 twice: IoU (40 + 43) / (50 + 50) = 0.83, score 0.9. Instance 2
    (rows 6-9 in frame 0 only) is predicted as rows 6-7 in frame 0 and rows
    6-9 in frame 1: IoU 20 / 80 = 0.25, a false positive, score 0.5. So at
    the thresholds 0.50..0.80 (7 of 10) one of two instances is found, with
    precision 1 up to recall 1/2 (51 of 101 recall points):
    AP = 0.7 * 51/101, AP50 = AP75 = 51/101, AR = 0.7 * 1/2.
    """
    gt = dict(
        videos=[dict(id=5, height=10, width=10, length=2)],
        annotations=[
            dict(
                id=1,
                video_id=5,
                category_id=1,
                iscrowd=0,
                segmentations=[rows(0, 3), rows(0, 3, 3)],
                areas=[40, 43]),
            dict(
                id=2,
                video_id=5,
                category_id=1,
                iscrowd=0,
                segmentations=[rows(6, 9), None],
                areas=[40, None]),
        ],
        categories=[dict(id=1, name='thing')])
    results = [
        dict(
            video_id=5,
            category_id=1,
            score=0.9,
            segmentations=[rows(0, 4), rows(0, 4)]),
        dict(
            video_id=5,
            category_id=1,
            score=0.5,
            segmentations=[rows(6, 7), rows(6, 9)]),
    ]
    gt_path, res_path = folder / 'gt.json', folder / 'results.json'
    gt_path.write_text(json.dumps(gt))
    res_path.write_text(json.dumps(results))
    return gt_path, res_path, results


EXPECTED = {
    'AP': 0.7 * 51 / 101,
    'AP50': 51 / 101,
    'AP75': 51 / 101,
    'APs': 0.7 * 51 / 101,
    'APm': -1,
    'APl': -1,
    'AR1': 0.35,
    'AR10': 0.35,
    'AR100': 0.35,
    'ARs': 0.35,
    'ARm': -1,
    'ARl': -1
}


def test_cli_prints_and_writes_the_known_stats(tmp_path):
    gt_path, res_path, _ = write_case(tmp_path)
    out = tmp_path / 'metrics' / 'stats.json'
    env = dict(os.environ, PYTHONPATH=str(REPO))
    proc = subprocess.run([
        sys.executable,
        str(SCRIPT), '--gt',
        str(gt_path), '--results',
        str(res_path), '--out',
        str(out)
    ],
                          cwd=tmp_path,
                          env=env,
                          capture_output=True,
                          text=True,
                          timeout=300)
    assert proc.returncode == 0, proc.stderr
    stats = json.loads(out.read_text())
    assert list(stats) == STAT_NAMES
    assert stats == pytest.approx(EXPECTED, abs=1e-9)
    assert 'AP75' in proc.stdout and f'{EXPECTED["AP"]:.4f}' in proc.stdout
    assert list(out.parent.iterdir()) == [out]  # no temporary left


def run_main(*argv):
    module = runpy.run_path(str(SCRIPT))
    return module['main'](list(argv))


def test_cli_reads_a_submission_zip(tmp_path, capsys):
    gt_path, res_path, _ = write_case(tmp_path)
    zip_path = tmp_path / 'submission.zip'
    with zipfile.ZipFile(zip_path, 'w') as zf:
        zf.write(res_path, 'results.json')
    out = tmp_path / 'stats.json'
    assert run_main('--gt', str(gt_path), '--results', str(zip_path), '--out',
                    str(out)) == 0
    assert json.loads(out.read_text()) == pytest.approx(EXPECTED, abs=1e-9)


def test_cli_reports_bad_results(tmp_path, capsys):
    gt_path, res_path, results = write_case(tmp_path)
    results[1]['segmentations'].append(None)
    res_path.write_text(json.dumps(results))
    assert run_main('--gt', str(gt_path), '--results', str(res_path)) == 1
    err = capsys.readouterr().err
    assert 'results.json: result 1 (video 5): video 5 has 2 frames but 3 ' \
        'segmentations' in err

    zip_path = tmp_path / 'other.zip'
    with zipfile.ZipFile(zip_path, 'w') as zf:
        zf.writestr('nested/results.json', '[]')
    assert run_main('--gt', str(gt_path), '--results', str(zip_path)) == 1
    assert 'other.zip: no results.json at the zip root' in \
        capsys.readouterr().err


HOTA_NAMES = ['HOTA', 'DetA', 'AssA', 'LocA', 'IDF1']
OVIS_NAMES = STAT_NAMES[:6] + ['AP_light', 'AP_medium', 'AP_heavy'] + \
    STAT_NAMES[6:] + ['AR_light', 'AR_medium', 'AR_heavy']


def test_cli_hota_adds_the_trackeval_stats(tmp_path, capsys):
    from mmvis_clip.evaluation.functional import evaluate_hota
    gt_path, res_path, _ = write_case(tmp_path)
    out = tmp_path / 'stats.json'
    assert run_main('--gt', str(gt_path), '--results', str(res_path),
                    '--out', str(out), '--hota') == 0
    stats = json.loads(out.read_text())
    assert list(stats) == STAT_NAMES + HOTA_NAMES
    assert {k: stats[k] for k in STAT_NAMES} == pytest.approx(
        EXPECTED, abs=1e-9)
    assert {k: stats[k] for k in HOTA_NAMES} == pytest.approx(
        evaluate_hota(gt_path, res_path), abs=1e-12)
    # the second prediction is partly a false positive
    assert 0 < stats['DetA'] < 1 and 0 < stats['HOTA'] < 1
    printed = capsys.readouterr().out
    assert 'DetA' in printed and f'{stats["AssA"]:.4f}' in printed
    assert 'TrackEval, detection-averaged over categories, on all ' \
        'predictions' in printed

    assert run_main('--gt', str(gt_path), '--results', str(res_path),
                    '--out', str(out), '--hota', '--hota-score-thr', '0.6',
                    '--hota-average', 'class') == 0
    only_first = json.loads(out.read_text())
    assert only_first['AP'] == stats['AP']  # AP uses every prediction
    assert only_first['DetA'] == pytest.approx(
        evaluate_hota(gt_path, res_path, score_thr=0.6,
                      average='class')['DetA'], abs=1e-12)
    assert 'on predictions scoring >= 0.6' in capsys.readouterr().out


def test_cli_hota_options_need_hota(tmp_path, capsys):
    gt_path, res_path, _ = write_case(tmp_path)
    with pytest.raises(SystemExit) as exit_info:
        run_main('--gt', str(gt_path), '--results', str(res_path),
                 '--hota-score-thr', '0.5')
    assert exit_info.value.code == 2
    assert '--hota-score-thr and --hota-average need --hota' in \
        capsys.readouterr().err


def _with_occlusion(gt_path, labels):
    gt = json.loads(gt_path.read_text())
    for ann, occlusion in zip(gt['annotations'], labels):
        ann['occlusion'] = occlusion
    gt_path.write_text(json.dumps(gt))


def test_cli_ovis_ground_truth_gives_18_stats_and_hota(tmp_path):
    """Instance 1 scores 0.25 (light and medium), instance 2 0.75 (heavy):
    light and medium hold the found instance only, heavy the missed one.
    """
    gt_path, res_path, _ = write_case(tmp_path)
    _with_occlusion(gt_path, [['slight_occlusion', 'no_occlusion'],
                              ['severe_occlusion', None]])
    out = tmp_path / 'stats.json'
    assert run_main('--gt', str(gt_path), '--results', str(res_path),
                    '--out', str(out), '--hota') == 0
    stats = json.loads(out.read_text())
    assert list(stats) == OVIS_NAMES + HOTA_NAMES
    # instance 1 is found at 7 of 10 thresholds with precision 1: the other
    # prediction (IoU 0.25 with instance 2) is a false positive ranked
    # after it
    expected = dict(
        AP_light=0.7,
        AP_medium=0.7,
        AP_heavy=0.0,
        AR_light=0.7,
        AR_medium=0.7,
        AR_heavy=0.0)
    levels = {k: stats[k] for k in expected}
    assert levels == pytest.approx(expected, abs=1e-9)


def test_cli_names_an_instance_without_occlusion_labels(tmp_path, capsys):
    gt_path, res_path, _ = write_case(tmp_path)
    _with_occlusion(gt_path, [['slight_occlusion', 'no_occlusion'],
                              [None, None]])
    assert run_main('--gt', str(gt_path), '--results', str(res_path)) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert err[-1] == (
        f'eval_vis: error: {gt_path}: annotations[1] (id 2): none of its 2 '
        'frames has an occlusion label (all null), so it has no OVIS '
        'occlusion score; label at least one frame or drop the "occlusion" '
        'field of every annotation')


def run_tool(*argv, cwd):
    env = dict(os.environ, PYTHONPATH=str(REPO))
    return subprocess.run(
        [sys.executable, str(SCRIPT)] + [str(a) for a in argv],
        cwd=cwd, env=env, capture_output=True, text=True, timeout=300)


def assert_one_line_error(proc, *words):
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert 'Traceback' not in proc.stderr
    last = proc.stderr.strip().splitlines()[-1]
    assert last.startswith('eval_vis: error: '), last
    for word in words:
        assert str(word) in last, (word, last)
    return last


@pytest.mark.parametrize('empty', ['videos', 'annotations'])
def test_cli_refuses_ground_truth_with_nothing_to_evaluate(tmp_path, empty):
    """Not twelve n/a (-1) with exit 0; with results for its videos the
    ground truth is blamed, not the results."""
    gt_path, res_path, _ = write_case(tmp_path)
    gt = json.loads(gt_path.read_text())
    gt[empty] = []
    if empty == 'videos':
        gt['annotations'] = []
    gt_path.write_text(json.dumps(gt))
    out = tmp_path / 'stats.json'
    proc = run_tool('--gt', gt_path, '--results', res_path, '--out', out,
                    cwd=tmp_path)
    last = assert_one_line_error(proc, gt_path, 'nothing to evaluate')
    assert 'results.json' not in last
    assert 'n/a' not in proc.stdout and not out.exists()


def test_cli_refuses_an_out_that_is_an_input(tmp_path):
    gt_path, res_path, _ = write_case(tmp_path)
    before = res_path.read_bytes()
    proc = run_tool('--gt', gt_path, '--results', res_path, '--out',
                    res_path, cwd=tmp_path)
    assert_one_line_error(proc, f'--out {res_path}', 'is the results file')
    assert res_path.read_bytes() == before


def _write(path, content):
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content if isinstance(content, str) else json.dumps(
            content))
    return path


@pytest.mark.parametrize('case, words', [
    ('missing gt', ['missing.json']),
    ('gt is a folder', ['Is a directory']),
    ('malformed gt', ['gt.json', 'malformed JSON']),
    ('binary gt', ['gt.json', 'not a JSON text file']),
    ('gt height not a number', ['gt.json', 'videos[0] (id 5)', "'height'"]),
    ('gt rle of another size', ['gt.json', 'annotations[0] (id 1)',
                                'frame 0', '"size" is [10, 9]']),
    ('gt rle counts too short', ['gt.json', 'annotations[1] (id 2)',
                                 'frame 0', 'cover 99 pixels']),
    ('gt polygon outside', ['gt.json', 'annotations[0] (id 1)', 'frame 1',
                            'x = 10.5 outside the frame']),
    ('results not a list', ['results.json', 'expected a list']),
    ('result without video_id', ['results.json', 'result 1',
                                 "'video_id'"]),
    ('result without segmentations', ['results.json', 'result 0',
                                      "'segmentations'"]),
    ('unknown video id', ['results.json', 'result 0',
                          'unknown video_id 6']),
    ('broken zip', ['results.zip', 'broken zip']),
    ('out parent is a file', ['gt.json/stats.json']),
])
def test_cli_user_mistakes_give_one_line(tmp_path, capsys, case, words):
    gt_path, res_path, results = write_case(tmp_path)
    gt = json.loads(gt_path.read_text())
    argv = ['--gt', str(gt_path), '--results', str(res_path)]
    if case == 'missing gt':
        argv[1] = str(tmp_path / 'missing.json')
    elif case == 'gt is a folder':
        argv[1] = str(tmp_path)
    elif case == 'malformed gt':
        _write(gt_path, '{"videos": [')
    elif case == 'binary gt':
        _write(gt_path, b'\xff\xfe\x00binary')
    elif case == 'gt height not a number':
        gt['videos'][0]['height'] = 'ten'
        _write(gt_path, gt)
    elif case == 'gt rle of another size':
        gt['annotations'][0]['segmentations'][0]['size'] = [10, 9]
        _write(gt_path, gt)
    elif case == 'gt rle counts too short':
        rle = mask_utils.encode(np.asfortranarray(np.ones((9, 11),
                                                          np.uint8)))
        gt['annotations'][1]['segmentations'][0] = dict(
            size=[10, 10], counts=rle['counts'].decode())
        _write(gt_path, gt)
    elif case == 'gt polygon outside':
        gt['annotations'][0]['segmentations'][1] = [[0, 0, 10.5, 0, 10, 4]]
        _write(gt_path, gt)
    elif case == 'results not a list':
        _write(res_path, {'video_id': 5})
    elif case == 'result without video_id':
        del results[1]['video_id']
        _write(res_path, results)
    elif case == 'result without segmentations':
        del results[0]['segmentations']
        _write(res_path, results)
    elif case == 'unknown video id':
        results[0]['video_id'] = 6
        _write(res_path, results)
    elif case == 'broken zip':
        zip_path = tmp_path / 'results.zip'
        with zipfile.ZipFile(zip_path, 'w') as zf:
            zf.writestr('results.json', json.dumps(results) * 50)
        data = bytearray(zip_path.read_bytes())
        data[40:60] = b'x' * 20  # inside the compressed member
        zip_path.write_bytes(bytes(data))
        argv[3] = str(zip_path)
    elif case == 'out parent is a file':
        argv += ['--out', str(gt_path / 'stats.json')]
    assert run_main(*argv) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) >= 1 and err[-1].startswith('eval_vis: error: ')
    for word in words:
        assert word in err[-1], (word, err[-1])
