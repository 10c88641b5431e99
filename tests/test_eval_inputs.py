"""eval_vis.py on results that are not a list of results, and on a zip
cut short: one line naming the file, the result and the field."""
import json
import zipfile

import pytest
from test_eval_vis_cli import run_main, write_case


def _last_error(capsys):
    err = capsys.readouterr().err.strip().splitlines()
    assert err and err[-1].startswith('eval_vis: error: '), err
    return err[-1]


@pytest.mark.parametrize('drop, words', [
    ('score', ["result 0: missing field 'score'",
               'expected a list of results, found a single json object']),
    ('video_id', ["result 0: missing field 'video_id'"]),
    (None, ['expected a list of results, found a single json object']),
])
def test_one_result_object_names_the_missing_field(
        tmp_path, capsys, drop, words):
    gt_path, res_path, results = write_case(tmp_path)
    single = dict(results[0])
    if drop:
        del single[drop]
    res_path.write_text(json.dumps(single))
    assert run_main('--gt', str(gt_path), '--results', str(res_path)) == 1
    last = _last_error(capsys)
    assert str(res_path) in last
    for word in words:
        assert word in last, (word, last)
    assert 'ground truth?' not in last


@pytest.mark.parametrize('content, kind', [('null', 'null'), ('"x"',
                                                              'string'),
                                           ('3', 'number')])
def test_results_of_another_json_kind(tmp_path, capsys, content, kind):
    gt_path, res_path, _ = write_case(tmp_path)
    res_path.write_text(content)
    assert run_main('--gt', str(gt_path), '--results', str(res_path)) == 1
    assert f'expected a list of results, found a {kind}' in \
        _last_error(capsys)


def test_ground_truth_given_as_results_is_named(tmp_path, capsys):
    gt_path, _, _ = write_case(tmp_path)
    assert run_main('--gt', str(gt_path), '--results', str(gt_path)) == 1
    assert '(ground truth?)' in _last_error(capsys)


@pytest.mark.parametrize('keep', [0.3, 0.6, 0.95])
def test_zip_cut_short_is_a_broken_zip(tmp_path, capsys, keep):
    gt_path, res_path, _ = write_case(tmp_path)
    zip_path = tmp_path / 'submission.zip'
    with zipfile.ZipFile(zip_path, 'w', zipfile.ZIP_DEFLATED) as zf:
        zf.write(res_path, 'results.json')
    data = zip_path.read_bytes()
    zip_path.write_bytes(data[:int(len(data) * keep)])
    assert not zipfile.is_zipfile(zip_path)
    assert run_main('--gt', str(gt_path), '--results', str(zip_path)) == 1
    last = _last_error(capsys)
    assert f'{zip_path}: broken zip file' in last
    assert 'JSON' not in last
