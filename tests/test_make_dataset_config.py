"""tools/misc/make_dataset_config.py: a config of a method for a dataset of
one's own, and the one-line errors around it.

The dataset is made from files as a user has them: frames and instance-id
PNGs (3 classes, not the synthetic 6), converted by frames2ytvis.py and
split by split_ytvis.py. The written config is parsed back and checked
for every base method (STC, CiCo-Yolact, CiCo-CondInst, MaskTrack R-CNN,
and the YouTube-VIS / OVIS configs whose datasets and evaluators differ);
the slow tests train it for one epoch, test, evaluate and run the demo
with no ``--cfg-options``, and check the one-line errors of train.py /
test.py for a dataset of other classes, a missing test annotation and a
checkpoint trained on other classes.
"""
import json
import os
import os.path as osp
import shutil
import subprocess
import sys

import numpy as np
import pytest
import torch
from mmengine.config import Config
from PIL import Image

from mmvis_clip.datasets.converters.frames2ytvis import \
    main as frames2ytvis_main
from mmvis_clip.datasets.converters.split_ytvis import main as split_ytvis_main
from mmvis_clip.datasets.converters.vis2cocovid import convert_vis_file
from mmvis_clip.engine.clip_length import apply_clip_length
from mmvis_clip.engine.dataset_config import main as make_config_main
from mmvis_clip.engine.dataset_config import override, set_num_classes

REPO = osp.dirname(osp.dirname(osp.abspath(__file__)))
TOOL = osp.join(REPO, 'tools', 'misc', 'make_dataset_config.py')
TRAIN = osp.join(REPO, 'tools', 'train.py')
TEST = osp.join(REPO, 'tools', 'test.py')
EVAL = osp.join(REPO, 'tools', 'analysis', 'eval_vis.py')
DEMO = osp.join(REPO, 'tools', 'demo', 'video_demo.py')
STC = osp.join(REPO, 'configs', 'stc', 'stc_r18_fpn_1xb4-8e_synthetic.py')
CLASSES = ('cat', 'dog', 'bird')
#: base config (under configs/) -> the dotted keys of its model's
#: num_classes
BASES = {
    'stc/stc_r18_fpn_1xb4-8e_synthetic.py':
    ['model.detector.bbox_head.num_classes'],
    'cico/cico-yolact_r18_fpn_1xb4-4e_synthetic.py':
    ['model.bbox_head.num_classes'],
    'cico/cico-condinst_r18_fpn_1xb4-4e_synthetic.py':
    ['model.bbox_head.num_classes'],
    'masktrack_rcnn/masktrack-rcnn_r18_fpn_1xb4-8e_synthetic.py': [
        'model.detector.roi_head.bbox_head.num_classes',
        'model.detector.roi_head.mask_head.num_classes'
    ],
    # mmdet's YouTubeVISDataset (dataset_version) and a format_only metric
    'stc/stc_r50_fpn_8xb2-12e_youtubevis2019.py':
    ['model.detector.bbox_head.num_classes'],
    # 25 classes in the head, a stale top-level num_classes = 40
    'cico/cico-yolact_r50_fpn_4xb6-12e_ovis.py':
    ['model.bbox_head.num_classes'],
}


def _run(*cmd, cwd=REPO, timeout=900):
    env = dict(
        os.environ, PYTHONPATH=REPO, OMP_NUM_THREADS='1', MKL_NUM_THREADS='1')
    return subprocess.run([sys.executable, *cmd],
                          cwd=cwd,
                          env=env,
                          capture_output=True,
                          text=True,
                          timeout=timeout)


def _ok(proc):
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0, out[-4000:]
    return out


def _error_line(proc, *names):
    """The one ``error:`` line of a refused run, checked to name
    ``names``."""
    out = proc.stdout + proc.stderr
    assert proc.returncode == 1, out[-3000:]
    assert 'Traceback' not in out, out[-3000:]
    last = proc.stderr.strip().splitlines()[-1]
    assert last.startswith('error: '), out[-3000:]
    for name in names:
        assert str(name) in last, last
    return last


def _tool_error(argv, *names):
    """The one line of an in-process make_dataset_config run refused."""
    with pytest.raises(SystemExit) as exit_info:
        make_config_main(argv)
    line = str(exit_info.value.code)
    assert line.startswith('error: ') and '\n' not in line, line
    for name in names:
        assert str(name) in line, line
    return line


def _write_frames(root, num_videos=4, num_frames=4):
    """``root/JPEGImages/<video>/<frame>.jpg`` with instance-id PNGs in
    ``root/Annotations`` (a cat, a dog and a bird moving in each video)
    and the class map ``root/classes.json``."""
    rng = np.random.default_rng(0)
    instances = {}
    for v in range(num_videos):
        video = f'clip_{v}'
        os.makedirs(osp.join(root, 'JPEGImages', video))
        os.makedirs(osp.join(root, 'Annotations', video))
        instances[video] = {'1': 'cat', '2': 'dog', '3': 'bird'}
        for t in range(num_frames):
            image = (rng.random((64, 96, 3)) * 60).astype(np.uint8)
            mask = np.zeros((64, 96), np.uint8)
            x = 4 + 5 * t + v
            for value, (y0, x0), colour in (
                (1, (4, x), (220, 40, 40)),
                (2, (24, 70 - x), (40, 220, 40)),
                (3, (44, 30 + x // 2), (40, 40, 220)),
            ):
                mask[y0:y0 + 16, x0:x0 + 16] = value
                image[y0:y0 + 16, x0:x0 + 16] = colour
            Image.fromarray(image).save(
                osp.join(root, 'JPEGImages', video, f'{t:05d}.jpg'))
            Image.fromarray(mask).save(
                osp.join(root, 'Annotations', video, f'{t:05d}.png'))
    with open(osp.join(root, 'classes.json'), 'w') as f:
        json.dump(dict(classes=list(CLASSES), instances=instances), f)


def _make_own_data(root):
    """Frames + masks -> frames2ytvis.py -> split_ytvis.py, as the README
    says. Returns the paths."""
    frames = osp.join(root, 'frames')
    _write_frames(frames)
    all_json = osp.join(root, 'all.json')
    frames2ytvis_main([frames, all_json, '--no-progress'])
    data = dict(
        root=root,
        img_dir=osp.join(frames, 'JPEGImages'),
        train=osp.join(root, 'train.json'),
        val=osp.join(root, 'held_out.json'))
    split_ytvis_main([
        all_json, '--num-held-out', '1', '--seed', '0', '--train-out',
        data['train'], '--held-out-out', data['val']
    ])
    return data


@pytest.fixture(scope='module')
def own_data(tmp_path_factory):
    return _make_own_data(str(tmp_path_factory.mktemp('own')))


def _argv(data, base, out, *extra):
    return [
        base, out, '--train-ann', data['train'], '--val-ann', data['val'],
        '--img-dir', data['img_dir'], *extra
    ]


def _num_classes_values(node, path='model'):
    """``{dotted key: value}`` of every num_classes under ``node``."""
    found = {}
    items = node.items() if isinstance(node, dict) else enumerate(node)
    for key, value in items:
        if key == 'num_classes':
            found[f'{path}.{key}'] = value
        elif isinstance(value, (dict, list, tuple)):
            found.update(_num_classes_values(value, f'{path}.{key}'))
    return found


def _video_ids(path):
    with open(path) as f:
        return sorted(v['id'] for v in json.load(f)['videos'])


# ------------------------------------------------------------- the config


@pytest.mark.parametrize('name', sorted(BASES))
def test_config_for_each_method(own_data, tmp_path, name, capsys):
    from mmdet.registry import DATASETS
    base = osp.join(REPO, 'configs', name)
    out = str(tmp_path / 'mine.py')
    make_config_main(_argv(own_data, base, out))
    summary = capsys.readouterr().out
    assert f"3 classes ['cat', 'dog', 'bird'] (from {own_data['train']})" \
        in summary

    cfg = Config.fromfile(out)
    base_cfg = Config.fromfile(base)
    for config in (cfg, base_cfg):
        apply_clip_length(config)  # as tools/train.py does (CiCo's clips)
    # every num_classes of the model is 3, none is left at the base's
    found = _num_classes_values(cfg.to_dict()['model'])
    assert sorted(found) == sorted(BASES[name])
    assert set(found.values()) == {3}
    assert cfg.num_classes == 3
    # and nothing else of the model changed
    expected = base_cfg.to_dict()['model']
    set_num_classes(expected, 3)
    assert cfg.to_dict()['model'] == expected

    root = own_data['root'] + '/'
    assert cfg.data_root == root
    files = dict(
        train='train_cocovid.json',
        val='held_out_cocovid.json',
        test='held_out_cocovid.json')
    for split, ann in files.items():
        dataset = cfg[f'{split}_dataloader'].dataset
        assert dataset.type == 'VISVideoDataset'
        assert dataset.metainfo == dict(classes=CLASSES)
        assert dataset.data_root == root
        assert dataset.ann_file == ann
        assert dataset.data_prefix == dict(img_path='frames/JPEGImages')
        assert 'dataset_version' not in dataset
        # the base's pipeline and loader settings are kept
        base_loader = base_cfg[f'{split}_dataloader']
        assert dataset.pipeline == base_loader.dataset.pipeline
        assert cfg[f'{split}_dataloader'].batch_size == base_loader.batch_size
        assert dataset.get('test_mode', False) == (split != 'train')
    for split in ('val', 'test'):
        assert cfg[f'{split}_evaluator'] == dict(
            type='VISMetric', ann_file=own_data['val'])

    # the datasets read the converted jsons, labels are the classes
    train = DATASETS.build(cfg.train_dataloader.dataset)
    assert train.metainfo['classes'] == CLASSES
    videos = [train.get_data_info(i) for i in range(len(train))]
    assert [v['video_length'] for v in videos] == [4, 4, 4]
    labels = {
        inst['bbox_label']
        for video in videos
        for image in video['images']
        for inst in image['instances']
    }
    assert labels == {0, 1, 2}
    test = DATASETS.build(cfg.test_dataloader.dataset)
    assert [test.get_data_info(i)['video_id']
            for i in range(len(test))] == _video_ids(own_data['val'])
    # a short diff: no temporary left, only the keys that differ
    assert os.listdir(tmp_path) == ['mine.py']


def test_written_text_is_a_short_diff(own_data, tmp_path):
    out = str(tmp_path / 'configs' / 'mine' / 'stc_mine.py')
    make_config_main(_argv(own_data, STC, out))
    with open(out) as f:
        text = f.read()
    base_ref = osp.relpath(STC, osp.dirname(out))
    assert f"_base_ = '{base_ref}'\n" in text
    assert 'model = dict(detector=dict(bbox_head=dict(num_classes=3)))\n' \
        in text
    assert 'test_dataloader = val_dataloader\n' in text
    assert 'test_evaluator = val_evaluator\n' in text
    assert f"val_evaluator=dict(ann_file='{own_data['val']}')" in ''.join(
        text.split())
    assert 'pipeline' not in text and '_delete_' not in text
    assigned = sorted(
        line.split(' = ')[0] for line in text.splitlines()
        if ' = ' in line and not line.startswith((' ', '#')))
    assert assigned == sorted([
        '_base_', 'num_classes', 'model', 'data_root', 'train_dataloader',
        'val_dataloader', 'test_dataloader', 'val_evaluator', 'test_evaluator'
    ])
    assert len(text.splitlines()) < 50


def test_override_is_what_the_merge_needs():
    base = dict(a=1, b=dict(c=2, d=[1, 2]), e=dict(f=1, g=2))
    wanted = dict(a=1, b=dict(c=3, d=[1, 2]), e=dict(f=1), h='x')
    diff = override(base, wanted)
    assert diff == dict(b=dict(c=3), e=dict(_delete_=True, f=1), h='x')
    cfg = Config(dict(base))
    cfg.merge_from_dict(diff, allow_list_keys=False)
    assert cfg.to_dict() == wanted


def test_refuses_to_overwrite_without_force(own_data, tmp_path):
    out = str(tmp_path / 'mine.py')
    make_config_main(_argv(own_data, STC, out))
    with open(out, 'rb') as f:
        before = f.read()
    _tool_error(_argv(own_data, STC, out, '--max-epochs', '2'), out, '--force')
    with open(out, 'rb') as f:
        assert f.read() == before
    make_config_main(_argv(own_data, STC, out, '--max-epochs', '2', '--force'))
    cfg = Config.fromfile(out)
    assert cfg.train_cfg.max_epochs == 2
    assert cfg.train_cfg.type == Config.fromfile(STC).train_cfg.type
    assert sorted(os.listdir(tmp_path)) == ['mine.py']


def test_load_from_replaces_the_bases(own_data, tmp_path):
    base = osp.join(REPO, 'configs', 'cico',
                    'cico-yolact_r18_fpn_1xb4-4e_synthetic.py')
    fifo = 'work_dirs/cico-yolact_r18_fpn_fifo_1xb4-8e_mine/epoch_8.pth'
    assert Config.fromfile(base).load_from == (
        'work_dirs/cico-yolact_r18_fpn_fifo_1xb4-8e_synthetic/epoch_8.pth')
    out = str(tmp_path / 'cico_mine.py')
    make_config_main(_argv(own_data, base, out, '--load-from', fifo))
    assert Config.fromfile(out).load_from == fifo
    with open(out) as f:
        assert f"\nload_from = '{fifo}'\n" in f.read()


def test_unlabelled_test_split_only_writes_results(own_data, tmp_path):
    with open(own_data['val']) as f:
        test_json = json.load(f)
    test_json['annotations'] = []
    test_ann = str(tmp_path / 'test.json')
    with open(test_ann, 'w') as f:
        json.dump(test_json, f)
    out = str(tmp_path / 'mine.py')
    make_config_main(_argv(own_data, STC, out, '--test-ann', test_ann))
    cfg = Config.fromfile(out)
    assert cfg.test_evaluator == dict(
        type='VISMetric',
        ann_file=test_ann,
        format_only=True,
        outfile_prefix='work_dirs/mine/results')
    assert cfg.val_evaluator == dict(
        type='VISMetric', ann_file=own_data['val'])
    assert osp.isfile(str(tmp_path / 'test_cocovid.json'))
    assert cfg.test_dataloader.dataset.ann_file == osp.relpath(
        str(tmp_path / 'test_cocovid.json'),
        cfg.test_dataloader.dataset.data_root)


def _json_with(tmp_path, source, name, change):
    with open(source) as f:
        data = json.load(f)
    change(data)
    path = str(tmp_path / name)
    with open(path, 'w') as f:
        json.dump(data, f)
    return path


def test_refuses_what_would_not_train(own_data, tmp_path):
    out = str(tmp_path / 'mine.py')

    def rename(data):
        data['categories'][2]['name'] = 'fish'

    other = _json_with(tmp_path, own_data['val'], 'other.json', rename)
    _tool_error([
        STC, out, '--train-ann', own_data['train'], '--val-ann', other,
        '--img-dir', own_data['img_dir']
    ], other, "['cat', 'dog', 'fish']", own_data['train'])

    def unlabel(data):
        data['annotations'] = []

    unlabelled = _json_with(tmp_path, own_data['val'], 'u.json', unlabel)
    _tool_error([
        STC, out, '--train-ann', own_data['train'], '--val-ann', unlabelled,
        '--img-dir', own_data['img_dir']
    ], '--val-ann', unlabelled, 'no annotations', 'split_ytvis.py')
    # the CocoVID json instead of the raw one
    cocovid = str(tmp_path / 'train_cocovid.json')
    convert_vis_file(own_data['train'], cocovid, show_progress=False)
    _tool_error([
        STC, out, '--train-ann', cocovid, '--val-ann', own_data['val'],
        '--img-dir', own_data['img_dir']
    ], '--train-ann', cocovid, 'file_names', 'not a CocoVID one')
    _tool_error(
        _argv(own_data, STC, out)[:-1] + [own_data['root']], '--img-dir',
        own_data['root'], 'clip_', 'JPEGImages')
    _tool_error(_argv(own_data, STC, str(tmp_path / 'mine.txt')), '.py')
    _tool_error(_argv(own_data, STC, own_data['val']), 'OUT', own_data['val'])
    assert not osp.exists(out)


def test_stale_cocovid_is_not_reused(tmp_path):
    data = _make_own_data(str(tmp_path / 'data'))
    out = str(tmp_path / 'mine.py')
    make_config_main(_argv(data, STC, out))
    cocovid = data['root'] + '/held_out_cocovid.json'
    old = os.stat(cocovid).st_mtime
    # the split made again after the conversion
    os.utime(cocovid, (old - 100, old - 100))
    line = _tool_error(
        _argv(data, STC, str(tmp_path / 'new.py')), cocovid, 'older than',
        data['val'], '--force')
    assert 'train_cocovid' not in line
    make_config_main(_argv(data, STC, str(tmp_path / 'new.py'), '--force'))
    assert os.stat(cocovid).st_mtime >= old


# --------------------------------------------------- the tools, end to end


@pytest.fixture(scope='module')
def trained(own_data, tmp_path_factory):
    """make_dataset_config.py (as a command, 1 epoch) and train.py with no
    --cfg-options, run from a work folder of their own."""
    work = str(tmp_path_factory.mktemp('work'))
    config = osp.join(work, 'configs', 'mine', 'stc_r18_fpn_1xb4-1e_mine.py')
    out = _ok(
        _run(
            TOOL, *_argv(own_data, STC, config, '--max-epochs', '1'),
            cwd=work))
    assert f'train it with: python tools/train.py {config}' in out
    _ok(_run(TRAIN, config, cwd=work))
    work_dir = osp.join(work, 'work_dirs', 'stc_r18_fpn_1xb4-1e_mine')
    checkpoint = osp.join(work_dir, 'epoch_1.pth')
    assert osp.isfile(checkpoint)
    return dict(
        cwd=work, config=config, checkpoint=checkpoint, work_dir=work_dir)


@pytest.mark.slow
def test_train_test_eval_demo_without_cfg_options(own_data, trained):
    ckpt = torch.load(
        trained['checkpoint'], map_location='cpu', weights_only=False)
    assert tuple(ckpt['meta']['dataset_meta']['classes']) == CLASSES
    head = ckpt['state_dict']['detector.bbox_head.conv_cls.weight']
    assert head.shape[0] == 3

    results = osp.join(trained['work_dir'], 'results')
    out = _ok(
        _run(
            TEST,
            trained['config'],
            trained['checkpoint'],
            '--out',
            results,
            cwd=trained['cwd']))
    # the one held-out video, evaluated against its ground truth
    assert 'Epoch(test) [1/1]' in out and 'youtube_vis/AP:' in out
    with open(osp.join(results, 'results.json')) as f:
        predictions = json.load(f)
    # (a one-epoch model may keep no track above the test threshold)
    assert {p['video_id']
            for p in predictions} <= set(_video_ids(own_data['val']))
    assert {p['category_id'] for p in predictions} <= {1, 2, 3}

    metrics = osp.join(trained['work_dir'], 'metrics.json')
    _ok(
        _run(
            EVAL,
            '--gt',
            own_data['val'],
            '--results',
            osp.join(results, 'results.json'),
            '--out',
            metrics,
            cwd=trained['cwd']))
    with open(metrics) as f:
        metrics = json.load(f)
    assert list(metrics) == [
        'AP', 'AP50', 'AP75', 'APs', 'APm', 'APl', 'AR1', 'AR10', 'AR100',
        'ARs', 'ARm', 'ARl'
    ]
    # the 16x16 objects are all small: no medium or large ground truth
    assert metrics['APm'] == metrics['APl'] == -1.0
    assert 0.0 <= metrics['APs'] <= 1.0

    video = osp.join(own_data['img_dir'], 'clip_0')
    demo_json = osp.join(trained['work_dir'], 'demo', 'clip_0.json')
    out = _ok(
        _run(
            DEMO,
            video,
            trained['config'],
            '--checkpoint',
            trained['checkpoint'],
            '--out-json',
            demo_json,
            cwd=trained['cwd']))
    assert '4 frames read, 4 processed' in out
    assert osp.isfile(demo_json)


# ------------------------------------------------------- one-line errors


def _synthetic_layout(own_data, root):
    """The user's jsons in the synthetic dataset's layout (what
    ``--data-root`` of a synthetic config reads)."""
    os.makedirs(osp.join(root, 'annotations'))
    for split, raw in (('train', own_data['train']), ('valid',
                                                      own_data['val'])):
        shutil.copy(raw, osp.join(root, 'annotations', f'{split}.json'))
        convert_vis_file(
            raw,
            osp.join(root, 'annotations', f'{split}_cocovid.json'),
            show_progress=False)
        os.makedirs(osp.join(root, split))
        os.symlink(own_data['img_dir'], osp.join(root, split, 'JPEGImages'))
    return root


@pytest.mark.slow
def test_dataset_of_other_classes_is_one_line(own_data, trained, tmp_path):
    root = _synthetic_layout(own_data, str(tmp_path / 'mine'))
    ann = osp.join(root, 'annotations', 'train_cocovid.json')
    line = _error_line(
        _run(TRAIN, STC, '--data-root', root), STC, ann,
        "the categories ['cat', 'dog', 'bird']", 'of its SyntheticVISDataset',
        f'python tools/misc/make_dataset_config.py {STC} OUT.py '
        f"--train-ann {osp.join(root, 'annotations', 'train.json')}",
        f"--img-dir {osp.join(root, 'train/JPEGImages')}")
    assert line.startswith(f'error: {STC}: train_dataloader.dataset')
    ann = osp.join(root, 'annotations', 'valid_cocovid.json')
    _error_line(
        _run(TEST, STC, trained['checkpoint'], '--data-root',
             root), STC, 'test_dataloader.dataset.ann_file', ann,
        f"--val-ann {osp.join(root, 'annotations', 'valid.json')}",
        'make_dataset_config.py')


@pytest.mark.slow
def test_missing_test_annotation_is_one_line(own_data, trained, tmp_path):
    # a folder of the user's: no synthetic data suggested into it
    root = _synthetic_layout(own_data, str(tmp_path / 'mine'))
    missing = osp.join(root, 'annotations', 'valid_cocovid.json')
    os.remove(missing)
    raw = osp.join(root, 'annotations', 'valid.json')
    fix = (f'python tools/dataset_converters/vis2cocovid.py -i {raw} '
           f'-o {missing}')
    line = _error_line(
        _run(TEST, STC, trained['checkpoint'], '--data-root', root),
        f'test_dataloader.dataset.ann_file: {missing} does not exist', fix)
    assert 'make_synthetic_vis' not in line
    os.remove(raw)  # and without the raw json beside it
    line = _error_line(
        _run(TEST, STC, trained['checkpoint'], '--data-root', root), missing,
        'make_dataset_config.py')
    assert 'make_synthetic_vis' not in line
    # the command the line gives makes the file
    shutil.copy(own_data['val'], raw)
    _ok(_run(*fix.split()[1:], cwd=REPO))
    assert osp.isfile(missing)


@pytest.mark.slow
def test_checkpoint_of_other_classes_is_one_line(trained, tmp_path):
    checkpoint = torch.load(
        trained['checkpoint'], map_location='cpu', weights_only=False)
    checkpoint['meta']['dataset_meta'] = dict(classes=('car', 'bus', 'van'))
    other = str(tmp_path / 'other_classes.pth')
    torch.save(checkpoint, other)
    line = _error_line(
        _run(TEST, trained['config'], other, cwd=trained['cwd']),
        f'checkpoint {other} was trained on the classes '
        "['car', 'bus', 'van']", f"config {trained['config']} tests on "
        "['cat', 'dog', 'bird']", 'held_out_cocovid.json',
        'the config it was trained with')
    assert line.count('error:') == 1
