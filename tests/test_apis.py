"""Streaming inference API: init_vis_model, VideoSegmenter, FrameSource."""
import os.path as osp

import cv2
import numpy as np
import pytest
import torch
import torch.nn as nn
from mmdet.registry import DATASETS
from mmengine.config import Config
from mmengine.dataset import pseudo_collate

from mmvis_clip.apis import (FrameSizeError, FrameSource, StreamEndedError,
                             VideoSegmenter, build_stream_pipeline,
                             init_vis_model, natural_sort_key, resolve_device)
from mmvis_clip.models.vis.video_stream import FrameModelStream

REPO = osp.dirname(osp.dirname(osp.abspath(__file__)))
STC_CONFIG = osp.join(REPO, 'configs', 'stc',
                      'stc_r18_fpn_1xb4-8e_synthetic.py')
CICO_CONFIG = osp.join(REPO, 'configs', 'cico',
                       'cico-yolact_r18_fpn_1xb4-8e_synthetic.py')
MTR_CONFIG = osp.join(REPO, 'configs', 'masktrack_rcnn',
                      'masktrack-rcnn_r18_fpn_1xb4-8e_synthetic.py')
# class names saved in the checkpoint meta, distinct from the config's
CKPT_CLASSES = ('a', 'b', 'c', 'd', 'e', 'f')


@pytest.fixture(scope='module')
def data_root(make_tiny_synthetic):
    # 2 train videos, 2 valid videos of 6 frames of 64x96
    return make_tiny_synthetic(num_videos=2, num_frames=6, seed=1)


def data_options(data_root):
    return {'test_dataloader.dataset.data_root': data_root}


def save_random_checkpoint(config, path, cfg_options):
    """Random weights of ``config``'s model with a dataset meta."""
    torch.manual_seed(0)
    model = init_vis_model(config, cfg_options=cfg_options)
    torch.save(
        dict(
            state_dict=model.state_dict(),
            meta=dict(dataset_meta=dict(classes=CKPT_CLASSES))), path)
    return path


def model_video_outputs(model, data_root, video_idx):
    """What tools/test.py computes for one video: the test dataset's
    sample through ``model.test_step``."""
    dataset = DATASETS.build(model.cfg.test_dataloader.dataset)
    sample = dataset[video_idx]
    with torch.no_grad():
        out = model.test_step(pseudo_collate([sample]))[0]
    return [out[i] for i in range(len(out))]


def assert_same_as_test_loop(frames, results):
    assert [r.frame_index for r in results] == list(range(len(frames)))
    for frame, result in zip(frames, results):
        pred = frame.pred_track_instances
        assert result.instances_id.tolist() == pred.instances_id.tolist()
        assert result.labels.tolist() == pred.labels.tolist()
        np.testing.assert_allclose(result.scores, pred.scores.numpy(),
                                   rtol=1e-5)
        np.testing.assert_allclose(result.bboxes, pred.bboxes.numpy(),
                                   rtol=1e-4, atol=1e-3)
        assert result.masks.dtype == bool
        assert result.masks.shape[1:] == frame.ori_shape
        assert np.array_equal(result.masks, pred.masks.numpy())


def direct_summaries(results):
    """{id: (majority label, mean score, n)} by a direct loop (ties to the
    smallest label, as np.bincount(...).argmax())."""
    labels, scores = {}, {}
    for result in results:
        for i, label, score in zip(result.instances_id, result.labels,
                                   result.scores):
            labels.setdefault(int(i), []).append(int(label))
            scores.setdefault(int(i), []).append(float(score))
    return {
        i: (int(np.bincount(labels[i]).argmax()), np.mean(scores[i]),
            len(labels[i]))
        for i in labels
    }


def assert_summaries(summaries, results):
    expected = direct_summaries(results)
    assert sorted(summaries) == sorted(expected)
    for i, (label, score, num) in expected.items():
        assert summaries[i].label == label
        assert summaries[i].score == pytest.approx(score, rel=1e-5)
        assert summaries[i].num_frames == num


def test_stc_stream_matches_test_loop(data_root, tmp_path):
    options = dict(data_options(data_root),
                   **{'model.detector.test_cfg.score_thr': 0.01})
    ckpt = save_random_checkpoint(STC_CONFIG, str(tmp_path / 'stc.pth'),
                                  options)
    model = init_vis_model(STC_CONFIG, ckpt, cfg_options=options)
    assert not model.training
    assert model.dataset_meta['classes'] == CKPT_CLASSES  # from the ckpt
    seg = VideoSegmenter(model)
    assert seg.stream is model  # STC has the stream contract itself

    for video_idx in range(2):
        frames = model_video_outputs(model, data_root, video_idx)
        seg.reset()
        results = []
        for frame in frames:
            # video 0 by path, video 1 as arrays decoded by OpenCV
            pushed = frame.img_path if video_idx == 0 else cv2.imread(
                frame.img_path)
            out = seg.push(pushed)
            assert len(out) == 1  # final at once
            results += out
        remaining, summaries = seg.finish()
        assert remaining == []
        assert_same_as_test_loop(frames, results)
        ids = np.concatenate([r.instances_id for r in results])
        # the case exercises tracking: detections, and ids kept over frames
        assert len(ids) >= len(frames)
        assert len(set(ids.tolist())) < len(ids)
        assert_summaries(summaries, results)


@pytest.mark.parametrize('overlap', [1, 0])
def test_cico_stream_matches_test_loop(data_root, tmp_path, overlap):
    options = dict(
        data_options(data_root), **{
            'model.test_cfg.score_thr': 0.005,
            'model.test_cfg.max_per_clip': 5,
            'model.tracker.overlap': overlap,
            # only detections: the votes below are read off the outputs
            'model.tracker.carry.clips': 0
        })
    ckpt = save_random_checkpoint(CICO_CONFIG, str(tmp_path / 'cico.pth'),
                                  options)
    model = init_vis_model(CICO_CONFIG, ckpt, cfg_options=options)
    seg = VideoSegmenter(model)
    assert seg.stream is model
    frames = model_video_outputs(model, data_root, 0)
    assert len(frames) == 6
    seg.reset()
    batches = [seg.push(frame.img_path) for frame in frames]
    remaining, summaries = seg.finish()
    # T = 3: results come clip by clip, the overlap frame from the later
    # clip; the partial last clip at finish()
    if overlap == 1:  # clips [0, 1, 2], [2, 3, 4], [4, 5, 5]
        expected = [[], [], [0, 1], [], [2, 3], []]
        assert [r.frame_index for r in remaining] == [4, 5]
    else:  # clips [0, 1, 2], [3, 4, 5]
        expected = [[], [], [0, 1, 2], [], [], [3, 4, 5]]
        assert remaining == []
    assert [[r.frame_index for r in b] for b in batches] == expected
    results = [r for b in batches for r in b] + remaining
    assert_same_as_test_loop(frames, results)
    assert sum(len(r.instances_id) for r in results) > 0
    # summaries as tools/test.py votes: every written frame, by a direct
    # loop (mmdet's YouTubeVISMetric rule)
    per_id = {}
    for result in results:
        for i, label, score in zip(result.instances_id, result.labels,
                                   result.scores):
            per_id.setdefault(int(i), []).append((int(label), float(score)))
    assert sorted(summaries) == sorted(per_id)
    for i, frame_votes in per_id.items():
        labels = [label for label, _ in frame_votes]
        assert summaries[i].label == int(np.bincount(labels).argmax())
        assert summaries[i].score == np.array(
            [score for _, score in frame_votes], np.float32).mean().item()
        assert summaries[i].num_frames == len(frame_votes)


def test_masktrack_rcnn_stream_matches_test_loop(data_root, tmp_path):
    options = dict(
        data_options(data_root), **{
            'model.detector.test_cfg.rpn.max_per_img': 100,
            'model.detector.test_cfg.rcnn.max_per_img': 10
        })
    ckpt = save_random_checkpoint(MTR_CONFIG, str(tmp_path / 'mtr.pth'),
                                  options)
    model = init_vis_model(MTR_CONFIG, ckpt, cfg_options=options)
    frames = model_video_outputs(model, data_root, 0)
    # mmdet's tracker keeps every observation of a track in lists
    assert max(len(v) for t in model.tracker.tracks.values()
               for v in t.values() if isinstance(v, list)) > 1

    seg = VideoSegmenter(model)
    assert type(seg.stream) is FrameModelStream  # mmdet's model, wrapped
    seg.reset()
    results = [r for frame in frames for r in seg.push(frame.img_path)]
    assert_same_as_test_loop(frames, results)
    # the segmenter keeps the latest entry only, with the same outputs
    assert {len(v) for t in model.tracker.tracks.values()
            for v in t.values() if isinstance(v, list)} == {1}
    ids = np.concatenate([r.instances_id for r in results]).tolist()
    assert len(set(ids)) < len(ids)
    _, summaries = seg.finish()
    assert_summaries(summaries, results)


def test_memory_bounded_on_a_long_stream():
    retain, per_frame = 3, 4
    model = init_vis_model(
        STC_CONFIG,
        cfg_options={
            'model.tracker.num_frames_retain': retain,
            'model.detector.test_cfg.max_per_img': per_frame,
            'model.detector.test_cfg.score_thr': 0.0,
            # small model input: 300 frames in a few seconds
            'test_dataloader.dataset.pipeline.0.transforms.1.scale':
            (64, 32),
        })
    embed_dim = model.track_head.embed_dim
    seg = VideoSegmenter(model)
    seg.reset()
    rng = np.random.default_rng(0)
    # a track is kept only while seen in the last `retain` frames, each
    # frame has at most `per_frame` detections
    bound = retain * per_frame
    max_tracks, drained, observations = 0, {}, 0
    for i in range(300):
        frame = rng.integers(0, 256, (32, 48, 3), dtype=np.uint8)
        (result, ) = seg.push(frame)
        observations += len(result)
        state = seg.state_size()
        max_tracks = max(max_tracks, state['num_tracks'])
        assert state['num_tracks'] == len(seg.tracker.tracks) <= bound
        # latest box (4) and embedding per track, float32
        assert state['tensor_bytes'] <= bound * (4 + embed_dim) * 4
        assert state['num_finished'] <= bound
        popped = seg.pop_finished_summaries()
        assert not set(popped) & set(drained)
        drained.update(popped)
        assert seg.state_size()['num_finished'] == 0
    _, rest = seg.finish()
    assert seg.frame_index == 300
    assert seg.tracker.num_tracks > 2 * bound  # the bound was exercised
    # nothing lost: every id once, every observation counted
    assert not set(rest) & set(drained)
    assert len(drained) + len(rest) == seg.tracker.num_tracks
    assert sum(s.num_frames for s in list(drained.values()) +
               list(rest.values())) == observations
    assert max_tracks <= bound


def test_clip_stream_memory_bounded():
    """CiCo streaming keeps fewer than T frames between steps and a bounded
    track memory, whatever the length of the stream."""
    retain, per_clip = 2, 4
    model = init_vis_model(
        CICO_CONFIG,
        cfg_options={
            'model.tracker.num_clips_retain': retain,
            'model.test_cfg.max_per_clip': per_clip,
            'model.test_cfg.score_thr': 0.0,
            # every detection a new track: the memory bound is exercised
            'model.tracker.new_track': dict(embed=100.0),
            'test_dataloader.dataset.pipeline.0.transforms.1.scale':
            (64, 32),
        })
    seg = VideoSegmenter(model)
    seg.reset()
    rng = np.random.default_rng(0)
    bound = (retain + 1) * per_clip
    emitted, max_bytes = 0, 0
    for i in range(120):
        frame = rng.integers(0, 256, (32, 48, 3), dtype=np.uint8)
        emitted += len(seg.push(frame))
        assert len(model._schedule.buffer) < model.tracker.clip_len
        state = seg.state_size()
        assert state['num_tracks'] <= bound
        max_bytes = max(max_bytes, state['tensor_bytes'])
        seg.pop_finished_summaries()
        if i == 30:
            bytes_early = max_bytes
    rest, _ = seg.finish()
    assert emitted + len(rest) == 120  # every frame once
    assert seg.tracker.num_tracks > 2 * bound  # the bound was exercised
    assert max_bytes <= 2 * bytes_early  # no growth with the stream


def test_not_a_video_model(tmp_path):
    cfg = tmp_path / 'retinanet.py'
    cfg.write_text("_base_ = 'mmdet::retinanet/retinanet_r18_fpn_1x_coco.py'"
                   '\n')
    with pytest.raises(TypeError, match='retinanet.py is not a video model'):
        init_vis_model(str(cfg))
    with pytest.raises(TypeError, match='not a video model.*no tracker'):
        init_vis_model(STC_CONFIG, cfg_options={'model.tracker': None})
    with pytest.raises(FileNotFoundError, match='missing.py'):
        init_vis_model(str(tmp_path / 'missing.py'))


def test_checkpoint_that_does_not_fit(tmp_path):
    ckpt = str(tmp_path / 'bad.pth')
    torch.save(dict(state_dict={'detector.backbone.conv1.weight':
                                torch.zeros(1)}), ckpt)
    with pytest.raises(RuntimeError, match='bad.pth does not fit'):
        init_vis_model(STC_CONFIG, ckpt)


def test_bad_inputs(tmp_path):
    with pytest.raises(FileNotFoundError, match='missing.mp4'):
        FrameSource(str(tmp_path / 'missing.mp4'))
    not_video = tmp_path / 'notes.mp4'
    not_video.write_text('not a video')
    with pytest.raises(FileNotFoundError, match='notes.mp4 cannot be opened'):
        FrameSource(str(not_video))
    empty = tmp_path / 'empty'
    empty.mkdir()
    (empty / 'readme.txt').write_text('no frames here')
    with pytest.raises(FileNotFoundError, match='empty holds no image'):
        FrameSource(str(empty))

    cfg = Config.fromfile(STC_CONFIG)
    cfg.test_dataloader.dataset.pipeline = [
        dict(type='LoadImageFromFile'),
        dict(type='PackDetInputs')
    ]
    with pytest.raises(ValueError, match='expects a test pipeline'):
        build_stream_pipeline(cfg)

    seg = VideoSegmenter(init_vis_model(STC_CONFIG))
    with pytest.raises(FileNotFoundError, match='nothing.jpg'):
        seg.push(str(tmp_path / 'nothing.jpg'))
    broken = tmp_path / 'broken.jpg'
    broken.write_bytes(b'\xff\xd8 truncated')
    with pytest.raises(FileNotFoundError, match='broken.jpg'):
        seg.push(str(broken))
    with pytest.raises(ValueError, match='uint8'):
        seg.push(np.zeros((32, 48, 3), np.float32))
    seg.push(np.zeros((32, 48, 3), np.uint8))
    with pytest.raises(ValueError, match='48x32'):
        seg.push(np.zeros((40, 48, 3), np.uint8))


def test_frame_folder_in_natural_order(tmp_path):
    for index in (10, 2, 1):
        cv2.imwrite(str(tmp_path / f'{index}.png'),
                    np.full((4, 6, 3), index, np.uint8))
    (tmp_path / 'notes.txt').write_text('ignored')
    source = FrameSource(str(tmp_path))
    assert source.num_frames == 3
    assert [int(f[0, 0, 0]) for f in source] == [1, 2, 10]
    assert sorted(['b10', 'a2', 'b9', 'a10'],
                  key=natural_sort_key) == ['a2', 'a10', 'b9', 'b10']


def test_mp4_frames(tmp_path):
    path = str(tmp_path / 'clip.mp4')
    writer = cv2.VideoWriter(path, cv2.VideoWriter_fourcc(*'mp4v'), 7.0,
                             (48, 32))
    for value in (0, 120, 250):
        writer.write(np.full((32, 48, 3), value, np.uint8))
    writer.release()
    source = FrameSource(path)
    frames = list(source)
    assert source.name == 'clip' and source.fps == pytest.approx(7.0)
    assert [f.shape for f in frames] == [(32, 48, 3)] * 3
    # lossy codec: flat frames come back close to their value
    assert [round(float(f.mean()) / 10) for f in frames] == [0, 12, 25]


def test_segmenter_needs_a_tracker():
    model = init_vis_model(STC_CONFIG)
    model.tracker = None
    with pytest.raises(ValueError, match='STC has no tracker'):
        VideoSegmenter(model)


@pytest.mark.parametrize('config', [STC_CONFIG, CICO_CONFIG])
def test_stream_refuses_frames_after_finish_until_reset(config):
    """STC used to continue the old video after finish(); the stream
    refuses push() and a second finish() until reset(), for frame and clip
    models alike."""
    seg = VideoSegmenter(init_vis_model(config))
    rng = np.random.default_rng(0)
    frames = [rng.integers(0, 256, (32, 48, 3), dtype=np.uint8)
              for _ in range(4)]
    seg.reset()
    first = [r.frame_index for f in frames for r in seg.push(f)]
    rest, _ = seg.finish()
    assert first + [r.frame_index for r in rest] == [0, 1, 2, 3]
    for call in (lambda: seg.push(frames[0]), seg.finish):
        with pytest.raises(StreamEndedError,
                           match=r'ended with finish\(\) after 4 frames; '
                           r'call reset\(\)'):
            call()
    assert seg.frame_index == 4  # nothing was pushed
    seg.reset()
    again = [r.frame_index for f in frames for r in seg.push(f)]
    rest, _ = seg.finish()
    assert again + [r.frame_index for r in rest] == [0, 1, 2, 3]


def test_frame_folder_of_mixed_sizes_names_the_file(tmp_path):
    for index, shape in ((1, (4, 6, 3)), (2, (4, 6, 3)), (3, (5, 6, 3))):
        cv2.imwrite(str(tmp_path / f'{index}.png'), np.zeros(shape, np.uint8))
    frames = iter(FrameSource(str(tmp_path)))
    next(frames), next(frames)
    with pytest.raises(FrameSizeError) as error:
        next(frames)
    assert str(error.value) == (
        f'frame {tmp_path / "3.png"} is 6x5 (WxH) but the first frame '
        f'{tmp_path / "1.png"} of the folder is 6x4; all frames of a video '
        'must have one size')


@pytest.mark.parametrize('cuda, device, resolved', [
    (True, None, 'cuda:0'),  # a GPU by default where there is one
    (False, None, 'cpu'),
    (True, 'cpu', 'cpu'),  # the device given wins
    (True, 'cuda:1', 'cuda:1'),
    (False, torch.device('cpu'), 'cpu'),
])
def test_default_device_is_cuda_when_available(monkeypatch, cuda, device,
                                               resolved):
    monkeypatch.setattr(torch.cuda, 'is_available', lambda: cuda)
    assert resolve_device(device) == resolved


@pytest.mark.parametrize('cuda, device, resolved', [
    (True, None, 'cuda:0'),
    (False, None, 'cpu'),
    (True, 'cpu', 'cpu'),
])
def test_init_vis_model_puts_the_model_on_the_default_device(
        monkeypatch, cuda, device, resolved):
    """The device ``init_vis_model`` moves the model to, without a GPU:
    ``Module.to`` only records it."""
    moved = []

    def record_to(module, *args, **kwargs):
        moved.append((type(module).__name__, args, kwargs))
        return module

    # mmengine's first logger reads CUDA_VISIBLE_DEVICES when it sees CUDA
    from mmengine.logging import MMLogger
    MMLogger.get_current_instance()
    monkeypatch.setattr(torch.cuda, 'is_available', lambda: cuda)
    monkeypatch.setattr(torch.cuda, 'device_count', lambda: int(cuda))
    monkeypatch.setattr(nn.Module, 'to', record_to)
    model = init_vis_model(STC_CONFIG, device=device)
    assert moved == [('STC', (resolved, ), {})]
    assert not model.training
