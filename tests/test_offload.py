"""Final frame results leave the device in their own memory, once."""
import test_stc_model as stc
import torch
from mmdet.registry import MODELS
from mmdet.structures import TrackDataSample
from mmengine.structures import InstanceData
from scripted_frames import draw, frame_sample
from torch.utils._python_dispatch import TorchDispatchMode

from mmvis_clip.models.utils.offload import offload


def test_a_view_of_a_clip_tensor_becomes_its_own_copy():
    clip_masks = torch.zeros(5, 3, 40, 60, dtype=torch.bool)
    clip_masks[1, 2, 10:20, 5:9] = True
    frame = InstanceData(
        metainfo=dict(frame_id=7),
        masks=clip_masks[:, 2],
        labels=torch.arange(5),
        names=['a', 'b', 'c', 'd', 'e'])
    # the frame's masks keep the whole clip's storage alive
    assert frame.masks.untyped_storage().nbytes() == 5 * 3 * 40 * 60
    out = offload(frame)
    assert out.masks.device.type == 'cpu'
    assert out.masks.untyped_storage().nbytes() == 5 * 40 * 60
    assert torch.equal(out.masks, clip_masks[:, 2])
    assert out.metainfo == dict(frame_id=7)
    assert out.names == frame.names
    assert out.labels.data_ptr() != frame.labels.data_ptr()


def test_half_precision_results_become_float32():
    """Under autocast scores come out in bfloat16, which NumPy cannot read."""
    frame = InstanceData(
        scores=torch.tensor([0.5, 0.25], dtype=torch.bfloat16),
        bboxes=torch.zeros(2, 4, dtype=torch.float16),
        masks=torch.zeros(2, 3, 3, dtype=torch.bool),
        labels=torch.tensor([1, 2]))
    out = offload(frame)
    assert out.scores.dtype == out.bboxes.dtype == torch.float32
    assert out.masks.dtype == torch.bool and out.labels.dtype == torch.long
    assert out.scores.numpy().tolist() == [0.5, 0.25]


def test_tensors_shared_by_two_results_are_copied_once():
    masks = torch.zeros(2, 4, 4, dtype=torch.bool)
    det = InstanceData(masks=masks, scores=torch.tensor([0.5, 0.25]))
    track = det.clone()  # the fields are det's tensors
    track.instances_id = torch.tensor([3, 4])
    memo = dict()
    out_track = offload(track, memo)
    out_det = offload(det, memo)
    assert out_det.masks is out_track.masks
    assert out_det.scores is out_track.scores
    assert out_track.masks.data_ptr() != masks.data_ptr()
    # another memo (or none): copies of its own
    assert offload(det).masks.data_ptr() != out_track.masks.data_ptr()


class HostCopies(TorchDispatchMode):
    """Records the copies made to the host as ``(source, copy)`` pairs:
    ``aten._to_copy`` to the CPU, what ``Tensor.cpu()`` and
    ``Tensor.to('cpu')`` of a device tensor run. On a CPU run ``.cpu()``
    of a CPU tensor is the tensor itself and never reaches it: what it
    records are the explicit copies (the offload's), and conversions such
    as ``x.to(other)`` that would stay on a device (mmcv's NMS). The
    sources are kept alive: their storages identify them."""

    def __init__(self):
        super().__init__()
        self.copies = []

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        kwargs = kwargs or {}
        out = func(*args, **kwargs)
        device = kwargs.get('device')
        if func is torch.ops.aten._to_copy.default and \
                device is not None and torch.device(device).type == 'cpu':
            self.copies.append((args[0], out))
        return out

    def copies_of(self, tensors):
        """The copies whose source shares its storage with one of
        ``tensors`` (non-empty ones)."""
        storages = {t.untyped_storage().data_ptr() for t in tensors}
        return [(source, copy) for source, copy in self.copies
                if source.untyped_storage().data_ptr() in storages]


def stc_video(num_frames):
    """A tiny random STC keeping every detection (score threshold 0) and
    a pre-processed video of ``num_frames`` frames."""
    cfg = stc.tiny_model_cfg()
    cfg.detector.test_cfg.score_thr = 0.0
    torch.manual_seed(0)
    model = MODELS.build(cfg)
    model.init_weights()
    model.eval()
    boxes, labels, ids = stc.VIDEOS[0][:3]
    img = torch.from_numpy(
        draw(boxes, [stc.COLOURS[label] for label in labels]))
    video = TrackDataSample()
    video.video_data_samples = [
        frame_sample(boxes, labels, ids, t, 'v') for t in range(num_frames)
    ]
    data = model.data_preprocessor(
        dict(inputs=[torch.stack([img] * num_frames)], data_samples=[video]),
        training=False)
    return model, data


def test_stc_test_loop_copies_each_result_to_the_host_once():
    """A frame's detections (``pred_instances``) and tracked instances
    share their tensors: the test loop copies each to the host once and
    both fields hold the copy."""
    model, data = stc_video(3)
    with torch.no_grad(), HostCopies() as host:
        out = model.predict(**data)[0]
    final = []
    for t in range(3):
        track, det = out[t].pred_track_instances, out[t].pred_instances
        assert len(track) == 10  # max_per_img
        assert set(track.keys()) == {
            'bboxes', 'scores', 'labels', 'masks', 'embeddings', 'instances_id'
        }
        assert set(det.keys()) == set(track.keys()) - {'instances_id'}
        for key in det.keys():
            assert det.get(key) is track.get(key), (t, key)
        final += track.values()
    # every result is a host copy, of a source copied once
    made = [copy for _, copy in host.copies]
    assert all(sum(c is tensor for c in made) == 1 for tensor in final)
    sources = [(s.untyped_storage().data_ptr(), s.storage_offset(),
                tuple(s.shape), s.stride(), s.dtype) for s, c in host.copies
               if any(c is t for t in final)]
    assert len(sources) == len(set(sources)) == 3 * 6
    masks_shape = out[0].pred_track_instances.masks.shape
    assert sum(c.shape == masks_shape for c in made) == 3


def test_stc_step_leaves_the_host_copy_to_its_consumer():
    """The stream API copies the fields it returns from ``step``'s
    results; ``step`` itself copies none of them to the host."""
    model, data = stc_video(2)
    video = data['data_samples'][0]
    model.init_state()
    for t in range(2):
        with torch.no_grad(), HostCopies() as host:
            (frame_id, result), = model.step(data['inputs'][:, t:t + 1],
                                             [video[t]])
        assert frame_id == t and len(result) == 10
        assert host.copies_of(result.values()) == []
