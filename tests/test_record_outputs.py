"""record_outputs.py --compare: every difference between two recordings is
named, equal recordings pass."""
import importlib.util
import json
import os.path as osp

REPO = osp.dirname(osp.dirname(osp.abspath(__file__)))
spec = importlib.util.spec_from_file_location(
    'record_outputs', osp.join(REPO, 'tools', 'analysis',
                               'record_outputs.py'))
record_outputs = importlib.util.module_from_spec(spec)
spec.loader.exec_module(record_outputs)


def write_recording(root, results, stream):
    (root / 'model' / 'test').mkdir(parents=True)
    (root / 'model' / 'test' / 'results.json').write_text(json.dumps(results))
    (root / 'model' / 'stream.jsonl').write_text(''.join(
        json.dumps(line) + '\n' for line in stream))


def test_compare_names_each_difference(tmp_path):
    results = [dict(video_id=1, score=0.5, category_id=2,
                    segmentations=[None])]
    stream = [dict(video='v', frame=0, ids=[0], scores=[0.5]),
              dict(video='v', summaries={'0': [1, 0.5, 1]})]
    write_recording(tmp_path / 'a', results, stream)
    write_recording(tmp_path / 'b', results, stream)
    assert record_outputs.compare(tmp_path / 'a', tmp_path / 'b',
                                  ['model']) == []

    changed = [dict(stream[0], scores=[0.25]), stream[1]]
    write_recording(tmp_path / 'c', results + results, changed)
    assert record_outputs.compare(tmp_path / 'a', tmp_path / 'c',
                                  ['model']) == [
        'model/test/results.json: 1 entries before, 2 after',
        'model/stream.jsonl: entry 0 differs in scores'
    ]
    both = [dict(stream[0], scores=[0.25]),
            dict(stream[1], summaries={'0': [1, 0.25, 1]})]
    write_recording(tmp_path / 'd', results, both)
    assert record_outputs.compare(tmp_path / 'a', tmp_path / 'd',
                                  ['model']) == [
        'model/stream.jsonl: entry 0 differs in scores',
        'model/stream.jsonl: 2 of 2 entries differ, in scores, summaries'
    ]
    missing = str(tmp_path / 'missing')
    assert record_outputs.compare(tmp_path / 'a', missing, ['model']) == [
        f'model/test/results.json: not in {missing}',
        f'model/stream.jsonl: not in {missing}'
    ]
