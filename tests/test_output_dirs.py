"""Outputs never go into input folders: the one rule
(``refuse_writing_into_inputs``) and the tools' folders that use it
(``tools/test.py --show-dir`` / ``--out``, ``VideoRenderHook``)."""
import argparse
import importlib.util
import os
import os.path as osp
import subprocess
import sys

import numpy as np
import pytest
import torch
from mmdet.structures import DetDataSample, TrackDataSample
from mmengine.config import Config
from mmengine.structures import InstanceData

from mmvis_clip.utils.atomic_io import (refuse_output_folder,
                                        refuse_overwriting_inputs,
                                        refuse_writing_into_inputs)
from mmvis_clip.utils.user_errors import UserError
from mmvis_clip.visualization import VideoRenderHook

REPO = osp.dirname(osp.dirname(osp.abspath(__file__)))
CONFIG = osp.join(REPO, 'configs', 'stc', 'stc_r18_fpn_1xb4-8e_synthetic.py')


def load_tool(*path):
    spec = importlib.util.spec_from_file_location(
        path[-1][:-3], osp.join(REPO, *path))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_rule(tmp_path):
    frames = tmp_path / 'frames'
    (frames / 'v').mkdir(parents=True)
    os.symlink(frames, tmp_path / 'link')
    inputs = [('input frame folder', str(frames))]
    for out, relation in [
        (frames, 'is'),
        (tmp_path / 'other' / '..' / 'frames', 'is'),
        (frames / 'v' / 'show', 'is inside'),
        (tmp_path / 'link' / 'out.mp4', 'is inside'),
    ]:
        with pytest.raises(UserError) as err:
            refuse_writing_into_inputs('--show-dir', str(out), inputs)
        assert str(err.value) == (
            f'--show-dir {out} {relation} the input frame folder {frames}; '
            'refusing to write into an input folder')
    refuse_writing_into_inputs('--show-dir', str(tmp_path / 'show'), inputs)
    refuse_writing_into_inputs('--show-dir', str(tmp_path / 'frames2'),
                               inputs)
    # the file and new-folder checks of every tool apply the same rule
    with pytest.raises(UserError, match='is inside the input frame folder'):
        refuse_overwriting_inputs({'--out': str(tmp_path / 'link' / 'a')},
                                  [], inputs)
    with pytest.raises(UserError, match='is inside the input frame folder'):
        refuse_output_folder('--out-masks', str(frames / 'masks'), inputs)


def video_sample(frame_paths):
    frames = []
    for i, path in enumerate(frame_paths):
        frame = DetDataSample(
            metainfo=dict(img_path=path, frame_id=i, video_id=1,
                          ori_video_length=len(frame_paths)))
        frame.pred_track_instances = InstanceData(
            bboxes=torch.zeros((0, 4)), labels=torch.zeros(0, dtype=int),
            scores=torch.zeros(0), instances_id=torch.zeros(0, dtype=int),
            masks=torch.zeros((0, 8, 8), dtype=bool))
        frames.append(frame)
    return TrackDataSample(video_data_samples=frames)


def test_render_hook_refuses_the_frame_folder(tmp_path):
    import cv2
    folder = tmp_path / 'JPEGImages' / 'vid'
    folder.mkdir(parents=True)
    paths = []
    for i in range(2):
        paths.append(str(folder / f'{i}.jpg'))
        cv2.imwrite(paths[-1], np.zeros((8, 8, 3), np.uint8))
    for out_dir, relation in [(folder, 'is inside'),
                              (tmp_path / 'JPEGImages', 'is')]:
        hook = VideoRenderHook(str(out_dir))
        hook._renderer = object()  # not reached
        with pytest.raises(UserError) as err:
            hook.render_video(video_sample(paths))
        assert str(err.value) == (
            f'VideoRenderHook out_dir {out_dir} {relation} the test frame '
            f'folder {tmp_path / "JPEGImages"}; refusing to write into an '
            'input folder')
        assert sorted(os.listdir(folder)) == ['0.jpg', '1.jpg']
        assert os.listdir(tmp_path / 'JPEGImages') == ['vid']
    # elsewhere it writes the video
    hook = VideoRenderHook(str(tmp_path / 'show'))
    from mmvis_clip.visualization import VideoRenderer
    hook._renderer = VideoRenderer(classes=None)
    assert osp.isfile(hook.render_video(video_sample(paths)))


@pytest.fixture(scope='module')
def data_root(make_tiny_synthetic):
    return make_tiny_synthetic(num_videos=2, num_frames=3, seed=3)


@pytest.fixture(scope='module')
def checkpoint(tmp_path_factory):
    from mmvis_clip.apis import init_vis_model
    torch.manual_seed(0)
    model = init_vis_model(CONFIG, device='cpu')
    path = str(tmp_path_factory.mktemp('ckpt') / 'random.pth')
    torch.save(dict(state_dict=model.state_dict()), path)
    return path


def test_test_py_show_dir_at_the_test_frame_folder(data_root, checkpoint,
                                                   tmp_path):
    """The user's case: ``--show-dir`` given the test frames' folder."""
    frames = osp.join(data_root, 'valid', 'JPEGImages')
    before = sorted(os.listdir(frames))
    proc = subprocess.run(
        [
            sys.executable, 'tools/test.py', CONFIG, checkpoint,
            '--work-dir', str(tmp_path / 'work'), '--show-dir', frames,
            '--data-root', data_root
        ],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=600)
    assert proc.returncode == 1, proc.stderr[-3000:]
    assert proc.stderr.strip().splitlines()[-1] == (
        f'error: --show-dir {frames} is the test frame folder '
        f'{osp.join(data_root, "valid/JPEGImages")}; refusing to write into '
        'an input folder')
    assert sorted(os.listdir(frames)) == before


@pytest.fixture(scope='module')
def test_tool():
    return load_tool('tools', 'test.py')


def test_test_py_output_dirs(test_tool, data_root, checkpoint, tmp_path,
                             monkeypatch):
    cfg = Config.fromfile(CONFIG)
    cfg.test_dataloader.dataset.data_root = data_root
    cfg.test_evaluator.ann_file = osp.join(data_root, 'annotations',
                                           'valid.json')
    frames = osp.join(data_root, 'valid/JPEGImages')

    def check(**outputs):
        args = argparse.Namespace(
            config=CONFIG, checkpoint=checkpoint,
            **dict(dict(show_dir=None, out=None), **outputs))
        test_tool.check_output_dirs(cfg, args)

    with pytest.raises(UserError,
                       match=r'^--show-dir \S+video_0000/show is inside the '
                       'test frame folder'):
        check(show_dir=osp.join(frames, 'video_0000', 'show'))
    with pytest.raises(UserError,
                       match=r'^--out \S+ is the test frame folder'):
        check(out=frames + '/')
    # a results file named like the ground truth, in its folder
    monkeypatch.setattr(test_tool, 'RESULTS_NAME', 'valid.json')
    with pytest.raises(UserError,
                       match=r'^--out valid.json \S+valid.json is the '
                       'test_evaluator.ann_file'):
        check(out=osp.join(data_root, 'annotations'))
    monkeypatch.undo()
    with pytest.raises(UserError, match=r'^--show-dir \S+ is a file'):
        check(show_dir=checkpoint)
    check(show_dir=str(tmp_path / 'show'), out=str(tmp_path / 'out'))


def test_vis2cocovid_out_dir_in_a_frame_folder(tmp_path):
    from mmvis_clip.datasets.converters.vis2cocovid import main
    root = tmp_path / 'ytvis'
    (root / 'train' / 'JPEGImages' / 'v').mkdir(parents=True)
    with open(root / 'train.json', 'w') as f:
        f.write('{"videos": [{"id": 1, "width": 4, "height": 4, '
                '"file_names": ["v/0.jpg"]}], "categories": [{"id": 1, '
                '"name": "a"}], "annotations": []}')
    out_dir = root / 'train' / 'JPEGImages'
    with pytest.raises(SystemExit) as info:
        main(['--data-root', str(root), '--version', '2019', '--out-dir',
              str(out_dir), '--no-progress'])
    assert str(info.value) == (
        f'error: train output {out_dir}/youtube_vis_2019_train.json is '
        f'inside the train frame folder {out_dir}; refusing to write into '
        'an input folder')
    assert os.listdir(out_dir) == ['v']
    main(['--data-root', str(root), '--version', '2019', '--no-progress'])
    assert os.listdir(root / 'annotations') == ['youtube_vis_2019_train.json']
