"""train -> checkpoint -> test -> AP through the command-line tools.

Runs mmdet's MaskTrack R-CNN (the baseline config) and both CiCo variants
on a tiny synthetic dataset, single-process, and MaskTrack R-CNN with
``tools/dist_train.sh CONFIG 2`` on this CPU-only machine (gloo backend).
"""
import json
import os
import os.path as osp
import socket
import subprocess
import sys

import pytest

REPO = osp.dirname(osp.dirname(osp.abspath(__file__)))
CONFIG = osp.join(REPO, 'configs', 'masktrack_rcnn',
                  'masktrack-rcnn_r18_fpn_1xb4-8e_synthetic.py')
#: (config, extra options): CiCo with a low score threshold so that an
#: epoch-1 model writes tracks
# a model trained for one tiny epoch scores low and has weak masks: let
# every candidate through the test-time filters, at most 5 per clip
CICO_LOW_THRESHOLDS = [
    'model.test_cfg.score_thr=0.0', 'model.test_cfg.min_mask_pixels=-1',
    'model.test_cfg.min_box_cover=-1', 'model.test_cfg.max_per_clip=5'
]
END_TO_END = [
    (CONFIG, []),
    (osp.join(REPO, 'configs', 'cico',
              'cico-yolact_r18_fpn_1xb4-8e_synthetic.py'),
     CICO_LOW_THRESHOLDS),
    (osp.join(REPO, 'configs', 'cico',
              'cico-condinst_r18_fpn_1xb4-8e_synthetic.py'),
     CICO_LOW_THRESHOLDS),
]

pytestmark = pytest.mark.slow


@pytest.fixture(scope='module')
def tiny_data(make_tiny_synthetic):
    # 4 train videos, 2 valid videos, 3 frames of 64x96
    return make_tiny_synthetic(num_videos=4, num_frames=3, seed=3)


def _cfg_options(data_root, max_epochs=1):
    ann = data_root + 'annotations/valid.json'
    return [
        '--cfg-options',
        f'train_dataloader.dataset.data_root={data_root}',
        f'val_dataloader.dataset.data_root={data_root}',
        f'test_dataloader.dataset.data_root={data_root}',
        f'val_evaluator.ann_file={ann}', f'test_evaluator.ann_file={ann}',
        f'train_cfg.max_epochs={max_epochs}',
        'train_dataloader.batch_size=1', 'train_dataloader.num_workers=0',
        'train_dataloader.persistent_workers=False',
        'val_dataloader.num_workers=0',
        'val_dataloader.persistent_workers=False',
        'test_dataloader.num_workers=0',
        'test_dataloader.persistent_workers=False',
        'default_hooks.logger.interval=1'
    ]


def _run(cmd, **kwargs):
    env = dict(os.environ, PYTHONPATH=REPO, PYTHON=sys.executable)
    proc = subprocess.run(cmd, cwd=REPO, env=env, capture_output=True,
                          text=True, timeout=900, **kwargs)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    return proc.stdout + proc.stderr


def _num_train_frames(data_root):
    with open(data_root + 'annotations/train_cocovid.json') as f:
        cocovid = json.load(f)
    # training skips frames without instances
    return len({a['image_id'] for a in cocovid['annotations']})


@pytest.mark.parametrize(
    'config,extra',
    END_TO_END,
    ids=['masktrack-rcnn', 'cico-yolact', 'cico-condinst'])
def test_train_checkpoint_test_ap(tiny_data, tmp_path, config, extra):
    work_dir = str(tmp_path / 'work')
    _run([sys.executable, 'tools/train.py', config, '--work-dir', work_dir] +
         _cfg_options(tiny_data) + extra)
    with open(osp.join(work_dir, 'last_checkpoint')) as f:
        ckpt = f.read().strip()
    assert ckpt.endswith('epoch_1.pth') and osp.isfile(ckpt)

    out_dir = str(tmp_path / 'results')
    log = _run([
        sys.executable, 'tools/test.py', config, ckpt, '--work-dir', work_dir,
        '--out', out_dir
    ] + _cfg_options(tiny_data) + extra)
    assert 'youtube_vis/AP' in log
    with open(osp.join(out_dir, 'results.json')) as f:
        results = json.load(f)
    with open(tiny_data + 'annotations/valid.json') as f:
        gt = json.load(f)
    lengths = {v['id']: v['length'] for v in gt['videos']}
    if extra:  # CiCo at a low threshold: tracks must come out
        assert results
    # one entry per predicted track, a mask (or None) for every frame
    for res in results:
        assert len(res['segmentations']) == lengths[res['video_id']]
        assert 1 <= res['category_id'] <= 6
    assert osp.isfile(osp.join(out_dir, 'submission.zip'))

    metrics = str(tmp_path / 'metrics.json')
    _run([sys.executable, 'tools/analysis/eval_vis.py', '--gt',
          tiny_data + 'annotations/valid.json', '--results',
          osp.join(out_dir, 'results.json'), '--out', metrics])
    with open(metrics) as f:
        stats = json.load(f)
    assert list(stats)[:12] == [
        'AP', 'AP50', 'AP75', 'APs', 'APm', 'APl', 'AR1', 'AR10', 'AR100',
        'ARs', 'ARm', 'ARl'
    ]
    assert all(v == -1 or 0 <= v <= 1 for v in stats.values())


def _free_port():
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]


def test_dist_train_two_cpu_processes(tiny_data, tmp_path):
    work_dir = str(tmp_path / 'dist')
    env = dict(os.environ, PYTHONPATH=REPO, PYTHON=sys.executable,
               PORT=str(_free_port()))
    proc = subprocess.run(
        ['bash', 'tools/dist_train.sh', CONFIG, '2', '--work-dir', work_dir] +
        _cfg_options(tiny_data),
        cwd=REPO, env=env, capture_output=True, text=True, timeout=900)
    log = proc.stdout + proc.stderr
    assert proc.returncode == 0, log[-4000:]
    assert 'Distributed training: True' in log
    assert 'GPU number: 2' in log  # mmengine's name for the world size
    # the distributed sampler split the frames between the two processes
    per_rank = (_num_train_frames(tiny_data) + 1) // 2
    assert f'Epoch(train) [1][{per_rank}/{per_rank}]' in log
    assert osp.isfile(osp.join(work_dir, 'epoch_1.pth'))


def test_clip_model_starts_from_its_frame_model(tiny_data, tmp_path):
    """The synthetic CiCo 4e config: without its frame-level checkpoint
    tools/train.py stops before training and names the config to train;
    with it, the 2D towers are inflated into the 3D ones and it trains."""
    fifo = osp.join(REPO, 'configs', 'cico',
                    'cico-yolact_r18_fpn_fifo_1xb4-8e_synthetic.py')
    clip = osp.join(REPO, 'configs', 'cico',
                    'cico-yolact_r18_fpn_1xb4-4e_synthetic.py')
    train = [sys.executable, osp.join(REPO, 'tools', 'train.py')]
    options = _cfg_options(tiny_data)
    # run from an empty directory: no work_dirs/ with the checkpoint
    proc = subprocess.run(
        train + [clip, '--work-dir', str(tmp_path / 'refused')] + options,
        cwd=tmp_path, env=dict(os.environ, PYTHONPATH=REPO),
        capture_output=True, text=True, timeout=900)
    assert proc.returncode != 0
    assert 'Traceback' not in proc.stderr
    last = proc.stderr.strip().splitlines()[-1]
    assert last.startswith('error: ') and 'does not exist' in last
    assert f'train that config first (python tools/train.py {fifo})' in \
        proc.stderr
    assert 'Epoch(train)' not in proc.stdout + proc.stderr

    fifo_dir = str(tmp_path / 'fifo')
    _run(train + [fifo, '--work-dir', fifo_dir] + options)
    clip_dir = str(tmp_path / 'clip')
    log = _run(train + [clip, '--work-dir', clip_dir] + options +
               [f'load_from={fifo_dir}/epoch_1.pth'])
    # box and tracking towers: 2 convs each
    assert 'CiCo: 4 2D conv weights inflated to 3D' in log
    assert 'not loaded' not in log
    assert osp.isfile(osp.join(clip_dir, 'epoch_1.pth'))
