"""tools/demo/video_demo.py, the video renderer and test.py --show-dir."""
import importlib.util
import json
import os
import os.path as osp
import subprocess
import sys

import cv2
import numpy as np
import pytest
import torch
from mmengine.structures import InstanceData
from pycocotools import mask as mask_utils

from mmvis_clip.apis import FrameSource, VideoSegmenter, init_vis_model
from mmvis_clip.visualization import (AtomicVideoWriter, CodecUnavailableError,
                                      SourceTimeVideoWriter, VideoRenderer,
                                      check_video_codec, instance_color,
                                      video_codec_available, video_codecs)

REPO = osp.dirname(osp.dirname(osp.abspath(__file__)))
CONFIG = osp.join(REPO, 'configs', 'stc', 'stc_r18_fpn_1xb4-8e_synthetic.py')


def load_tool(*path):
    spec = importlib.util.spec_from_file_location(
        path[-1][:-3], osp.join(REPO, *path))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


video_demo = load_tool('tools', 'demo', 'video_demo.py')


@pytest.fixture(scope='module')
def data_root(make_tiny_synthetic):
    # 2 train videos, 2 valid videos of 5 frames of 64x96
    return make_tiny_synthetic(num_videos=2, num_frames=5, seed=2)


@pytest.fixture(scope='module')
def checkpoint(tmp_path_factory):
    torch.manual_seed(0)
    model = init_vis_model(CONFIG)
    path = str(tmp_path_factory.mktemp('ckpt') / 'random.pth')
    torch.save(dict(state_dict=model.state_dict()), path)
    return path


def count_frames(path):
    capture = cv2.VideoCapture(path)
    assert capture.isOpened(), path
    num, size = 0, None
    while True:
        ok, frame = capture.read()
        if not ok:
            break
        num += 1
        size = frame.shape[:2]
    capture.release()
    return num, size


def test_demo_on_frame_folder(data_root, checkpoint, tmp_path):
    folder = osp.join(data_root, 'valid', 'JPEGImages', 'video_0001')
    out, out_json = str(tmp_path / 'out.mp4'), str(tmp_path / 'res.json')
    video_demo.main([
        folder, CONFIG, '--checkpoint', checkpoint, '--out', out,
        '--out-json', out_json, '--score-thr', '0.1', '--video-id', '7'
    ])
    assert count_frames(out) == (5, (64, 96))
    assert sorted(os.listdir(tmp_path)) == ['out.mp4', 'res.json']

    # the same video through the streaming API, checked against the json
    seg = VideoSegmenter(init_vis_model(CONFIG, checkpoint))
    seg.reset()
    results = [r for f in FrameSource(folder) for r in seg.push(f)]
    with open(out_json) as f:
        entries = json.load(f)
    ids = sorted({int(i) for r in results for i in r.instances_id})
    assert len(entries) == len(ids) > 0  # one entry per track
    for track_id, entry in zip(ids, entries):
        assert entry['video_id'] == 7
        assert len(entry['segmentations']) == 5
        labels, scores = [], []
        for r, rle in zip(results, entry['segmentations']):
            hit = np.flatnonzero(r.instances_id == track_id)
            if len(hit) == 0:
                assert rle is None
                continue
            (j, ) = hit
            labels.append(int(r.labels[j]))
            scores.append(float(r.scores[j]))
            assert np.array_equal(
                mask_utils.decode(rle).astype(bool), r.masks[j])
        assert entry['category_id'] == np.bincount(labels).argmax() + 1
        assert entry['score'] == pytest.approx(np.mean(scores), rel=1e-5)


def test_demo_on_mp4_without_checkpoint(data_root, tmp_path):
    folder = osp.join(data_root, 'valid', 'JPEGImages', 'video_0000')
    video = str(tmp_path / 'in.mp4')
    with AtomicVideoWriter(video, fps=5) as writer:
        for frame in FrameSource(folder):
            writer.write(frame)
    out_json = str(tmp_path / 'res.json')
    with pytest.warns(UserWarning, match='RANDOM.*make demo'):
        video_demo.main([video, CONFIG, '--out-json', out_json])
    with open(out_json) as f:
        entries = json.load(f)
    assert entries and all(len(e['segmentations']) == 5 for e in entries)


def test_demo_needs_an_output(data_root):
    with pytest.raises(SystemExit):
        video_demo.main([data_root, CONFIG])
    with pytest.raises(SystemExit):
        video_demo.main([data_root, CONFIG, '--out', 'x.avi'])


def test_atomic_video_writer(tmp_path):
    path = str(tmp_path / 'v.mp4')
    with pytest.raises(ValueError, match='is 48x40, the video is 48x32'):
        with AtomicVideoWriter(path) as writer:
            writer.write(np.zeros((32, 48, 3), np.uint8))
            writer.write(np.zeros((40, 48, 3), np.uint8))
    assert os.listdir(tmp_path) == []  # no partial or temporary file
    with pytest.raises(ValueError, match='no frame'):
        AtomicVideoWriter(path).close()
    with AtomicVideoWriter(path, fps=4) as writer:
        for _ in range(3):
            writer.write(np.zeros((32, 48, 3), np.uint8))
    assert os.listdir(tmp_path) == ['v.mp4']
    assert count_frames(path) == (3, (32, 48))


def test_instance_colors():
    state = np.random.get_state()
    colors = [instance_color(i) for i in range(50)]
    after = np.random.get_state()
    assert state[0] == after[0] and np.array_equal(state[1], after[1])
    assert colors == [instance_color(i) for i in range(50)]  # stable
    assert len(set(colors)) == 50
    assert all(0 <= c <= 255 for color in colors for c in color)


def test_renderer_paints_each_mask_in_its_id_colour():
    frame = np.full((100, 120, 3), 128, np.uint8)
    masks = np.zeros((2, 100, 120), bool)
    masks[0, 20:95, 5:50] = True
    masks[1, 20:95, 70:115] = True
    instances = InstanceData(
        masks=masks,
        bboxes=torch.tensor([[5., 20., 50., 95.], [70., 20., 115., 95.]]),
        labels=torch.tensor([0, 1]),
        scores=torch.tensor([0.9, 0.2]),
        instances_id=torch.tensor([3, 11]))
    drawn = VideoRenderer(classes=('a', 'b'), score_thr=0.5).draw(
        frame, instances)
    assert drawn.shape == frame.shape and drawn.dtype == np.uint8
    # id 3 is drawn: its mask interior moves towards its colour (BGR);
    # id 11 scores below the threshold: untouched
    inner = drawn[70:90, 15:45].reshape(-1, 3).mean(0)
    color = np.array(instance_color(3)[::-1], float)
    assert np.linalg.norm(inner - color) < 0.7 * np.linalg.norm(128 - color)
    assert np.array_equal(drawn[:, 60:], frame[:, 60:])


def test_bfloat16_results_convert_and_draw_as_float32():
    """Outputs of a model run under torch.autocast(dtype=bfloat16), which
    NumPy has no type for: the FrameResult holds float32, and the drawing
    equals the float32 one's."""
    from mmvis_clip.structures import FrameResult
    masks = torch.zeros(1, 40, 50, dtype=torch.bool)
    masks[0, 10:30, 5:25] = True
    fields = dict(
        masks=masks,
        bboxes=torch.tensor([[5., 10., 25., 30.]]),
        labels=torch.tensor([1]),
        scores=torch.tensor([0.75]),
        instances_id=torch.tensor([4]))
    half = InstanceData(**fields)
    half.bboxes = half.bboxes.bfloat16()
    half.scores = half.scores.bfloat16()
    result = FrameResult.from_instances(0, half, (40, 50))
    assert result.scores.dtype == np.float32 and result.scores[0] == 0.75
    assert result.bboxes.dtype == np.float32
    frame = np.full((40, 50, 3), 100, np.uint8)
    renderer = VideoRenderer(classes=('a', 'b'))
    assert np.array_equal(
        renderer.draw(frame, half),
        renderer.draw(frame, InstanceData(**fields)))
    assert np.array_equal(renderer.draw(frame, result),
                          renderer.draw(frame, InstanceData(**fields)))


@pytest.mark.slow
def test_test_py_show_dir(data_root, checkpoint, tmp_path):
    show = str(tmp_path / 'show')
    cmd = [
        sys.executable, 'tools/test.py', CONFIG, checkpoint, '--work-dir',
        str(tmp_path / 'work'), '--show-dir', show, '--cfg-options',
        f'test_dataloader.dataset.data_root={data_root}',
        f'test_evaluator.ann_file={data_root}annotations/valid.json',
        'test_dataloader.num_workers=0',
        'test_dataloader.persistent_workers=False'
    ]
    proc = subprocess.run(cmd, cwd=REPO, capture_output=True, text=True,
                          timeout=600)
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    assert sorted(os.listdir(show)) == ['video_0000.mp4', 'video_0001.mp4']
    for name in os.listdir(show):
        assert count_frames(osp.join(show, name)) == (5, (64, 96))


DEMO = osp.join(REPO, 'tools', 'demo', 'video_demo.py')


def run_demo(*argv):
    return subprocess.run([sys.executable, DEMO] + [str(a) for a in argv],
                          cwd=REPO, capture_output=True, text=True,
                          timeout=600)


def last_error_line(proc):
    assert proc.returncode == 1, proc.stdout[-2000:] + proc.stderr[-2000:]
    assert 'Traceback' not in proc.stderr, proc.stderr[-3000:]
    last = proc.stderr.strip().splitlines()[-1]
    assert last.startswith('error: '), last
    return last


@pytest.fixture(scope='module')
def inputs(data_root, checkpoint, tmp_path_factory):
    """An mp4, a frame folder (copies), the config and the checkpoint."""
    root = tmp_path_factory.mktemp('demo_inputs')
    folder = root / 'frames'
    folder.mkdir()
    src = osp.join(data_root, 'valid', 'JPEGImages', 'video_0000')
    video = root / 'in.mp4'
    with AtomicVideoWriter(str(video), fps=5) as writer:
        for i, frame in enumerate(FrameSource(src)):
            writer.write(frame)
            cv2.imwrite(str(folder / f'{i}.jpg'), frame)
    return dict(video=video, folder=folder, frame=folder / '2.jpg',
                config=CONFIG, checkpoint=checkpoint)


def snapshot(inputs):
    files = [inputs['video'], inputs['checkpoint']] + sorted(
        inputs['folder'].iterdir())
    return {str(f): open(f, 'rb').read() for f in files}


@pytest.mark.parametrize('source, option, target, words', [
    ('video', '--out', 'video', 'is the input video'),
    ('folder', '--out-json', 'frame', 'is inside the input frame folder'),
    ('folder', '--out-json', 'folder', 'is a folder'),
    ('video', '--out-json', 'checkpoint', 'is the checkpoint'),
    ('video', '--out-json', 'config', 'is the config'),
])
def test_demo_refuses_outputs_that_are_inputs(inputs, source, option,
                                              target, words):
    before = snapshot(inputs)
    config_before = open(CONFIG, 'rb').read()
    proc = run_demo(inputs[source], CONFIG, '--checkpoint',
                    inputs['checkpoint'], option, inputs[target])
    last = last_error_line(proc)
    assert last.startswith(f'error: {option} {inputs[target]} ')
    assert words in last, last
    if target != 'folder':
        assert 'refusing' in last, last
    assert snapshot(inputs) == before
    assert open(CONFIG, 'rb').read() == config_before


def test_demo_refuses_one_file_for_both_outputs(inputs, tmp_path):
    out = tmp_path / 'both.mp4'
    proc = run_demo(inputs['video'], CONFIG, '--out', out, '--out-json', out)
    assert 'is the same file as --out' in last_error_line(proc)
    assert not out.exists()


def test_demo_bad_inputs_give_one_line(inputs, tmp_path):
    """An unreadable mp4, a corrupt frame, frames of different sizes and a
    truncated checkpoint: one line naming the file, no output."""
    out = tmp_path / 'out.json'
    not_video = tmp_path / 'notes.mp4'
    not_video.write_text('not a video')
    mixed = tmp_path / 'mixed'
    mixed.mkdir()
    for i in range(3):
        cv2.imwrite(str(mixed / f'{i}.jpg'),
                    np.zeros((64, 96 if i < 2 else 80, 3), np.uint8))
    corrupt = tmp_path / 'corrupt'
    corrupt.mkdir()
    cv2.imwrite(str(corrupt / '0.jpg'), np.zeros((64, 96, 3), np.uint8))
    (corrupt / '1.jpg').write_bytes(b'\xff\xd8 not a jpeg')
    truncated = tmp_path / 'cut.pth'
    truncated.write_bytes(open(inputs['checkpoint'], 'rb').read()[:5000])
    cases = [
        ([not_video], f'video {not_video} cannot be opened'),
        ([tmp_path / 'missing'], f'input {tmp_path / "missing"} is neither'),
        ([mixed], f'frame {mixed / "2.jpg"} is 80x64 (WxH) but the first '
         f'frame {mixed / "0.jpg"}'),
        ([corrupt], f'frame {corrupt / "1.jpg"} cannot be read'),
        ([inputs['video'], '--checkpoint', truncated], f'checkpoint '
         f'{truncated}'),
    ]
    for argv, words in cases:
        proc = run_demo(argv[0], CONFIG, '--out-json', out, *argv[1:])
        last = last_error_line(proc)
        assert words in last, (words, last)
        assert 'reset()' not in last
        assert not out.exists()


@pytest.mark.parametrize('cuda, argv, device', [
    (True, [], 'cuda:0'),  # a GPU by default where there is one
    (False, [], 'cpu'),
    (True, ['--device', 'cpu'], 'cpu'),  # --device wins
    (True, ['--device', 'cuda:1'], 'cuda:1'),
])
def test_demo_device_defaults_to_cuda_when_available(monkeypatch, cuda,
                                                     argv, device):
    monkeypatch.setattr(torch.cuda, 'is_available', lambda: cuda)
    monkeypatch.setattr(torch.cuda, 'device_count', lambda: 2 * cuda)
    args = video_demo.parse_args(
        ['video.mp4', CONFIG, '--out-json', 'res.json'] + argv)
    assert args.device == device


def test_demo_refuses_cuda_where_there_is_none(monkeypatch, capsys):
    monkeypatch.setattr(torch.cuda, 'is_available', lambda: False)
    with pytest.raises(SystemExit):
        video_demo.parse_args(
            ['video.mp4', CONFIG, '--out-json', 'r.json', '--device', 'cuda'])
    assert capsys.readouterr().err.strip().splitlines()[-1].endswith(
        '--device cuda: CUDA is not available here')


def odd_frame(height=65, width=97):
    """A gray frame with bright 4-pixel bands along its bottom and right
    edges: a video that cuts the last row or column loses them."""
    frame = np.full((height, width, 3), 100, np.uint8)
    frame[-4:] = 250
    frame[:, -4:] = 250
    return frame


def read_frames(path):
    capture = cv2.VideoCapture(str(path))
    assert capture.isOpened(), path
    frames = []
    while True:
        ok, frame = capture.read()
        if not ok:
            break
        frames.append(frame)
    fps = capture.get(cv2.CAP_PROP_FPS)
    capture.release()
    return frames, fps


def assert_odd_frame_kept(decoded, height=65, width=97):
    """``decoded`` (read back) holds all of :func:`odd_frame`, padded with
    one black row and column to an even size."""
    assert decoded.shape == (height + 1, width + 1, 3)
    assert decoded[height - 4:height, :width].mean() > 200  # bottom band
    assert decoded[:height, width - 4:width].mean() > 200  # right band
    assert abs(decoded[:height - 5, :width - 5].mean() - 100) < 5
    assert decoded[height].max() < 40  # the padding row and column
    assert decoded[:, width].max() < 40


def test_atomic_video_writer_pads_odd_sizes(tmp_path):
    path = tmp_path / 'odd.mp4'
    with AtomicVideoWriter(str(path), fps=5) as writer:
        for _ in range(3):
            writer.write(odd_frame())
    assert (writer.frame_size, writer.size, writer.padded) == ((97, 65),
                                                               (98, 66), True)
    frames, fps = read_frames(path)
    assert len(frames) == 3 and fps == 5
    for frame in frames:
        assert_odd_frame_kept(frame)
    # frames of another size are still refused, by their own size
    with pytest.raises(ValueError, match='is 96x65, the video is 97x65'):
        with AtomicVideoWriter(str(tmp_path / 'x.mp4')) as writer:
            writer.write(odd_frame())
            writer.write(odd_frame(width=96))
    # an even size is written as it is
    with AtomicVideoWriter(str(tmp_path / 'even.mp4')) as writer:
        writer.write(np.zeros((32, 48, 3), np.uint8))
    assert not writer.padded and writer.size == (48, 32)


def test_demo_keeps_odd_frame_sizes(checkpoint, tmp_path, capsys):
    folder = tmp_path / 'odd'
    folder.mkdir()
    for i in range(3):
        cv2.imwrite(str(folder / f'{i}.png'), odd_frame())
    out = tmp_path / 'out.mp4'
    assert video_demo.main([
        str(folder), CONFIG, '--checkpoint', checkpoint, '--out', str(out),
        '--score-thr', '1'  # nothing drawn: the frames as they are
    ]) == 0
    frames, fps = read_frames(out)
    assert len(frames) == 3 and fps == 10  # a folder's default fps
    for frame in frames:
        assert_odd_frame_kept(frame)
    printed = capsys.readouterr().out
    assert '--out: 3 frames at 10 fps (0.30 s, source frames 0 to 2; mp4v)' \
        in printed
    assert '--out: frames of 97x65 padded to 98x66' in printed


def test_source_time_writer_holds_frames_until_the_next(tmp_path):
    path = tmp_path / 'held.mp4'
    shades = {0: 40, 3: 140, 9: 240}
    writer = SourceTimeVideoWriter(AtomicVideoWriter(str(path), fps=10))
    for index, shade in shades.items():
        writer.write(np.full((32, 48, 3), shade, np.uint8), index)
    with pytest.raises(ValueError, match='source frame 9 comes after '
                       'source frame 9'):
        writer.write(np.zeros((32, 48, 3), np.uint8), 9)
    assert writer.num_frames == 10
    assert writer.close() == str(path)
    frames, fps = read_frames(path)
    assert fps == 10 and len(frames) == 10  # source frames 0 to 9: 1 s
    shown = [int(round(frame.mean())) for frame in frames]
    assert [min(shades.values(), key=lambda s: abs(s - m))
            for m in shown] == [40] * 3 + [140] * 6 + [240]
    # a run whose first processed frame is not the source's first
    path = tmp_path / 'late.mp4'
    writer = SourceTimeVideoWriter(AtomicVideoWriter(str(path), fps=10))
    writer.write(np.zeros((32, 48, 3), np.uint8), 5)
    writer.write(np.zeros((32, 48, 3), np.uint8), 7)
    writer.close()
    assert (writer.first_index, writer.last_index) == (5, 7)
    assert count_frames(str(path)) == (3, (32, 48))


def test_video_codec_probe():
    assert video_codec_available('mp4v')
    assert check_video_codec('mp4v') == 'mp4v'
    if video_codec_available('avc1'):
        assert check_video_codec('h264') == 'avc1'
    else:
        with pytest.raises(CodecUnavailableError) as err:
            check_video_codec('h264')
        assert 'cannot write H.264' in str(err.value)
    with pytest.raises(CodecUnavailableError, match='not one of'):
        check_video_codec('xvid')


def test_demo_codec_unavailable_is_one_line(monkeypatch, tmp_path, capsys):
    monkeypatch.setattr(video_codecs, 'video_codec_available',
                        lambda fourcc: fourcc == 'mp4v')
    out = tmp_path / 'out.mp4'
    with pytest.raises(SystemExit) as err:
        # refused before the input is opened (camera 99 does not exist)
        video_demo.main(['99', CONFIG, '--out', str(out), '--codec', 'h264'])
    message = err.value.code
    assert message == (
        f'error: --codec h264: this OpenCV ({cv2.__version__}) cannot write '
        "H.264 ('avc1') videos (its FFmpeg has no such encoder); write "
        '--codec mp4v and convert it: ffmpeg -i OUT.mp4 -c:v libx264 '
        '-pix_fmt yuv420p OUT_h264.mp4')
    assert not out.exists()


@pytest.mark.skipif(not video_codec_available('avc1'),
                    reason='this OpenCV cannot write H.264')
def test_demo_writes_h264_where_opencv_can(data_root, checkpoint, tmp_path):
    folder = osp.join(data_root, 'valid', 'JPEGImages', 'video_0001')
    out = tmp_path / 'out.mp4'
    assert video_demo.main([
        folder, CONFIG, '--checkpoint', checkpoint, '--out', str(out),
        '--codec', 'avc1'
    ]) == 0
    capture = cv2.VideoCapture(str(out))
    fourcc = int(capture.get(cv2.CAP_PROP_FOURCC))
    capture.release()
    assert fourcc.to_bytes(4, 'little').decode().lower() in ('avc1', 'h264')
    assert count_frames(str(out)) == (5, (64, 96))
