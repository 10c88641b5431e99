"""tools/train.py and tools/test.py: a user's mistake gets one line naming
the file or key at fault (no traceback), ``--data-root`` reaches every
dataset and evaluator path, checkpoints are loaded strictly.

Every case runs the tool in a subprocess. The mistakes are caught before
anything trains; the runs that get as far as loading a checkpoint use the
STC R18 synthetic config on a dataset of 64x96 frames.
"""
import os
import os.path as osp
import subprocess
import sys

import pytest
import torch

REPO = osp.dirname(osp.dirname(osp.abspath(__file__)))
TRAIN = osp.join(REPO, 'tools', 'train.py')
TEST = osp.join(REPO, 'tools', 'test.py')
STC = osp.join(REPO, 'configs', 'stc', 'stc_r18_fpn_1xb4-8e_synthetic.py')

#: single-process loaders, a log line per iteration
LOADERS = [
    f'{split}_dataloader.{key}'
    for split in ('train', 'val', 'test')
    for key in ('num_workers=0', 'persistent_workers=False')
] + ['train_dataloader.batch_size=1', 'default_hooks.logger.interval=1']


def _run(*cmd, cwd=REPO, timeout=600):
    env = dict(os.environ, PYTHONPATH=REPO, OMP_NUM_THREADS='1',
               MKL_NUM_THREADS='1')
    return subprocess.run([sys.executable, *cmd], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=timeout)


def _error_line(proc, *names):
    """The one ``error:`` line of a refused run, checked to name
    ``names``."""
    out = proc.stdout + proc.stderr
    assert proc.returncode != 0, out[-3000:]
    assert 'Traceback' not in out, out[-3000:]
    last = proc.stderr.strip().splitlines()[-1]
    assert last.startswith('error: '), out[-3000:]
    for name in names:
        assert str(name) in last, last
    return last


def _ok(proc):
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0, out[-4000:]
    return out


@pytest.fixture(scope='module')
def data(tmp_path_factory):
    """Two tiny datasets: X (1 valid video) and Y (2 valid videos)."""
    from mmvis_clip.datasets.synthetic import make_synthetic_vis
    roots = {}
    for name, num_valid in (('x', 1), ('y', 2)):
        root = str(tmp_path_factory.mktemp(f'data_{name}'))
        make_synthetic_vis(root, num_videos=2, num_frames=2, size=(64, 96),
                           seed=0, show_progress=False, num_valid=num_valid)
        roots[name] = root + '/'
    return roots


@pytest.fixture(scope='module')
def stc_state():
    """The state dict of the STC R18 synthetic model (random weights)."""
    from mmdet.registry import MODELS
    from mmengine.config import Config
    from mmengine.registry import init_default_scope

    import mmvis_clip  # noqa: F401
    init_default_scope('mmdet')
    torch.manual_seed(0)
    model = MODELS.build(Config.fromfile(STC).model)
    return {k: v.clone() for k, v in model.state_dict().items()}


@pytest.fixture(scope='module')
def checkpoints(tmp_path_factory, stc_state):
    """Checkpoints: the STC model's own, one with its classifier for 80
    classes and no track head, the detector of that as an mmdet CondInst
    checkpoint (COCO-init layout), one of another model, a truncated one,
    random bytes, an empty file and a folder."""
    folder = tmp_path_factory.mktemp('checkpoints')
    paths = {}

    def save(name, state):
        paths[name] = str(folder / f'{name}.pth')
        torch.save({'state_dict': state, 'meta': {}}, paths[name])

    save('own', stc_state)
    other_shapes = {}
    for key, value in stc_state.items():
        if key.startswith('track_head.'):
            continue
        if key.startswith('detector.bbox_head.conv_cls.'):
            value = torch.zeros((80, ) + value.shape[1:])
        other_shapes[key] = value
    save('coco_shapes', other_shapes)
    save('condinst', {
        k[len('detector.'):]: v
        for k, v in other_shapes.items()
    })
    save('other_model', {'roi_head.fc.weight': torch.zeros(4, 4)})
    with open(paths['own'], 'rb') as f:
        blob = f.read()
    paths['truncated'] = str(folder / 'truncated.pth')
    with open(paths['truncated'], 'wb') as f:
        f.write(blob[:len(blob) // 3])
    paths['random'] = str(folder / 'random.pth')
    with open(paths['random'], 'wb') as f:
        f.write(bytes(range(217, 256)) * 100)
    paths['empty'] = str(folder / 'empty.pth')
    open(paths['empty'], 'wb').close()
    paths['folder'] = str(folder / 'a_folder.pth')
    os.mkdir(paths['folder'])
    return paths


# --------------------------------------------------------- config files


def test_config_path_typo():
    typo = STC.replace('synthetic', 'synthetc')
    last = _error_line(_run(TRAIN, typo), typo)
    assert 'does not exist' in last and osp.basename(STC) in last
    _error_line(_run(TEST, typo, 'x.pth'), typo)


def test_config_syntax_error(tmp_path):
    bad = tmp_path / 'bad_syntax.py'
    bad.write_text(f'_base_ = [{STC!r}]\nmodel = dict(\n')
    last = _error_line(_run(TRAIN, str(bad)), bad)
    assert 'SyntaxError' in last or 'syntax' in last


def test_config_base_typo(tmp_path):
    missing = osp.join(REPO, 'configs', 'stc', 'stc_r18_no_such_base.py')
    bad = tmp_path / 'bad_base.py'
    bad.write_text(f'_base_ = [{missing!r}]\n')
    _error_line(_run(TEST, str(bad), 'x.pth'), bad, 'stc_r18_no_such_base')


# ------------------------------------------------------------ cfg-options


@pytest.mark.parametrize('option, names', [
    ('randomnes.seed=0', ['randomnes.seed', "'randomnes'", 'randomness']),
    ('test_cfgg.fp16=True', ['test_cfgg.fp16', 'test_cfg']),
    ('model.tracker.num_frames_retian=5',
     ['model.tracker.num_frames_retian', 'num_frames_retain']),
    ('train_cfg.max_epochs=abc', ['train_cfg.max_epochs=abc', 'number']),
])
def test_cfg_options_typos(option, names):
    _error_line(_run(TRAIN, STC, '--cfg-options', option), *names)


def test_cfg_options_typo_in_test_tool(checkpoints):
    _error_line(
        _run(TEST, STC, checkpoints['own'], '--cfg-options',
             'model.tracker.num_frames_retian=5'), 'num_frames_retain')


# ----------------------------------------------------------- the data


def test_missing_default_dataset(tmp_path, checkpoints):
    # run where there is no data/synthetic_vis
    last = _error_line(_run(TRAIN, STC, cwd=str(tmp_path)),
                       'data/synthetic_vis',
                       'tools/misc/make_synthetic_vis.py --out '
                       'data/synthetic_vis')
    assert last.startswith('error: train_dataloader.dataset.')
    last = _error_line(_run(TEST, STC, checkpoints['own'], cwd=str(tmp_path)),
                       'data/synthetic_vis', 'make_synthetic_vis.py')
    assert last.startswith('error: test_dataloader.dataset.')
    _error_line(
        _run(TEST, STC, checkpoints['own'], '--data-root',
             str(tmp_path / 'nowhere'), cwd=str(tmp_path)),
        str(tmp_path / 'nowhere'))


def _config_on(tmp_path, root):
    """A config whose default data root is ``root`` (as a config of another
    dataset would have it)."""
    path = tmp_path / 'stc_on_x.py'
    path.write_text(f"""_base_ = [{STC!r}]
data_root = {root!r}
train_dataloader = dict(dataset=dict(data_root=data_root))
val_dataloader = dict(dataset=dict(data_root=data_root))
test_dataloader = val_dataloader
val_evaluator = dict(ann_file=data_root + 'annotations/valid.json')
test_evaluator = val_evaluator
""")
    return str(path)


@pytest.mark.slow
@pytest.mark.parametrize('how', ['--data-root', 'cfg-options'])
def test_data_root_reaches_datasets_and_evaluator(tmp_path, data, how,
                                                  checkpoints):
    config = _config_on(tmp_path, data['x'])
    root = data['y'].rstrip('/')  # the trailing / follows the config's
    where = (['--data-root', root] if how == '--data-root' else
             ['--cfg-options', f'data_root={root}'])
    # and an option that the config does not have but the tracker takes
    options = LOADERS + ['model.tracker.cosine_temperature=20.0']
    if how == 'cfg-options':
        where += options
    else:
        where += ['--cfg-options'] + options
    work = tmp_path / 'work'
    out = _ok(
        _run(TEST, config, checkpoints['own'], '--work-dir', str(work),
             *where))
    # Y's two valid videos were tested (X has one), against Y's ground truth
    assert 'Epoch(test) [2/2]' in out and 'Epoch(test) [1/1]' not in out
    dumped = (work / 'stc_on_x.py').read_text()
    assert data['x'] not in dumped
    assert f"ann_file='{data['y']}annotations/valid.json'" in dumped
    assert dumped.count(f"data_root='{data['y']}'") >= 3
    assert 'cosine_temperature=20.0' in dumped


def test_data_root_conflicts_with_cfg_options(data):
    _error_line(
        _run(TEST, STC, 'x.pth', '--data-root', data['x'], '--cfg-options',
             f'data_root={data["y"]}'), '--data-root', 'data_root=')


# ------------------------------------------------------------ checkpoints


@pytest.mark.parametrize('name, says', [
    ('truncated', 'truncated'),
    ('random', 'not a PyTorch checkpoint'),
    ('empty', 'empty'),
    ('folder', 'directory'),
])
def test_unreadable_checkpoint(checkpoints, data, name, says):
    path = checkpoints[name]
    _error_line(
        _run(TEST, STC, path, '--data-root', data['y']), path, says)
    if name == 'truncated':  # as load_from of a training run, too
        _error_line(
            _run(TRAIN, STC, '--data-root', data['y'], '--cfg-options',
                 f'load_from={path}'), path, says)


def test_missing_checkpoint(data, tmp_path):
    missing = str(tmp_path / 'missing.pth')
    _error_line(_run(TEST, STC, missing, '--data-root', data['y']), missing,
                'does not exist')


@pytest.mark.slow
def test_test_tool_refuses_checkpoint_that_does_not_fit(checkpoints, data):
    last = _error_line(
        _run(TEST, STC, checkpoints['coco_shapes'], '--data-root', data['y'],
             '--cfg-options', *LOADERS), checkpoints['coco_shapes'],
        'does not fit', 'track_head.', 'detector.bbox_head.conv_cls.',
        '--partial-load')
    assert '(80, 64, 3, 3) in the checkpoint, (6, 64, 3, 3) in the model' \
        in last
    _error_line(
        _run(TEST, STC, checkpoints['other_model'], '--data-root',
             data['y'], '--cfg-options', *LOADERS),
        checkpoints['other_model'], 'none of its tensors',
        'roi_head.fc.weight')
    # a COCO detector is STC's initialisation, not a model to test
    _error_line(
        _run(TEST, STC, checkpoints['condinst'], '--data-root', data['y'],
             '--cfg-options', *LOADERS), checkpoints['condinst'],
        'track_head.')


@pytest.mark.slow
def test_partial_load_logs_its_table(checkpoints, data, tmp_path):
    out = _ok(
        _run(TEST, STC, checkpoints['coco_shapes'], '--partial-load',
             '--data-root', data['y'], '--work-dir', str(tmp_path),
             '--cfg-options', *LOADERS))
    assert f'checkpoint {checkpoints["coco_shapes"]} loaded in part' in out
    assert 'skipped: detector.bbox_head.conv_cls.weight: shape ' \
        '(80, 64, 3, 3) in the checkpoint, (6, 64, 3, 3) in the model' in out
    assert 'not in checkpoint: track_head.' in out
    assert 'Epoch(test) [2/2]' in out


@pytest.mark.slow
def test_load_from_strict_but_coco_init_is_taken(checkpoints, data,
                                                 tmp_path):
    # one epoch (max_epochs=0 is refused: it would train nothing)
    run = [TRAIN, STC, '--data-root', data['y'], '--work-dir',
           str(tmp_path), '--cfg-options', 'train_cfg.max_epochs=1',
           'train_cfg.val_begin=2'] + LOADERS
    _error_line(
        _run(*run, f'load_from={checkpoints["coco_shapes"]}'),
        checkpoints['coco_shapes'], 'does not fit', 'track_head.')
    # mmdet's CondInst layout: STC nests it under detector. (the COCO
    # initialisation of the R50 configs); the classifier of another class
    # count and the track head stay initialised, and the table says so
    out = _ok(_run(*run, f'load_from={checkpoints["condinst"]}'))
    assert f'checkpoint {checkpoints["condinst"]} (a CondInst detector' in out
    assert 'skipped: detector.bbox_head.conv_cls.weight: shape' in out
    assert 'not in checkpoint: track_head.' in out
    # any other partial load only when asked for
    out = _ok(
        _run(*run, f'load_from={checkpoints["coco_shapes"]}',
             '--partial-load'))
    assert f'checkpoint {checkpoints["coco_shapes"]} loaded in part' in out
    # and the model's own checkpoint loads silently
    out = _ok(_run(*run, f'load_from={checkpoints["own"]}'))
    assert 'loaded in part' not in out
    assert f'Load checkpoint from {checkpoints["own"]}' in out


CICO_YOLACT = osp.join(REPO, 'configs', 'cico',
                       'cico-yolact_r18_fpn_1xb4-8e_synthetic.py')


@pytest.fixture(scope='module')
def cico_checkpoints(tmp_path_factory):
    """A CiCo-YOLACT checkpoint as its training saves it (``meta.cfg``)
    and the same weights without meta."""
    from mmdet.registry import MODELS
    from mmengine.config import Config
    folder = tmp_path_factory.mktemp('cico')
    cfg = Config.fromfile(CICO_YOLACT)
    torch.manual_seed(0)
    state = MODELS.build(cfg.model).state_dict()
    paths = dict(meta=str(folder / 'cico_yolact.pth'),
                 bare=str(folder / 'cico_yolact_bare.pth'))
    torch.save({'state_dict': state, 'meta': {'cfg': cfg.pretty_text}},
               paths['meta'])
    torch.save({'state_dict': state}, paths['bare'])
    return paths


@pytest.mark.slow
def test_load_from_of_another_model_is_refused(cico_checkpoints, data,
                                               tmp_path):
    run = [TRAIN, STC, '--data-root', data['y'], '--work-dir',
           str(tmp_path), '--cfg-options', 'train_cfg.max_epochs=1',
           'train_cfg.val_begin=2'] + LOADERS
    # its meta names the model it was trained as
    path = cico_checkpoints['meta']
    _error_line(
        _run(*run, f'load_from={path}'), path, 'does not fit the model of',
        "it is another model's (its meta.cfg: model: CiCo in the "
        'checkpoint, STC in the model)', '--partial-load')
    # without meta: STC's conversion (of a CondInst detector) leaves
    # tensors of it without a place in the model
    path = cico_checkpoints['bare']
    _error_line(
        _run(*run, f'load_from={path}'), path,
        "it is another model's (converted as a CondInst detector",
        'keys the model does not have (detector.bbox_head.track_convs.',
        '--partial-load')
    # asked for: what fits is loaded, and the table says what
    out = _ok(_run(*run, f'load_from={path}', '--partial-load'))
    assert f'checkpoint {path} (a CondInst detector: its 186 tensors ' \
        'nested under detector.) loaded in part' in out


def test_a_checkpoint_trained_as_another_model_is_named():
    from mmengine.config import Config

    from mmvis_clip.engine.checkpoint_load_hook import check_same_model
    from mmvis_clip.utils.checkpoint_loading import CheckpointError

    def trained_as(config):
        return {'meta': {'cfg': Config.fromfile(config).pretty_text}}

    cico = osp.join(REPO, 'configs', 'cico')
    frame_level = trained_as(
        osp.join(cico, 'cico-yolact_r18_fpn_fifo_1xb4-8e_synthetic.py'))
    # CiCo's 2D -> 3D initialisation: the same modules
    check_same_model(frame_level, 'f.pth',
                     Config.fromfile(CICO_YOLACT).model, 'the model')
    # a YOLACT mask generator is not a CondInst one
    condinst = Config.fromfile(
        osp.join(cico, 'cico-condinst_r18_fpn_1xb4-8e_synthetic.py')).model
    with pytest.raises(CheckpointError, match=r'f.pth does not fit the '
                       r"model: it is another model's \(its meta.cfg: "
                       'mask_head.mask_generator: YolactClipMaskGenerator '
                       'in the checkpoint, CondInstClipMaskGenerator in '
                       'the model'):
        check_same_model(frame_level, 'f.pth', condinst, 'the model')
    # no meta, or another library's model: left to the conversion
    check_same_model({'meta': {}}, 'f.pth', condinst, 'the model')
    mmdet_model = {'meta': {'cfg': "model = dict(type='CondInst')"}}
    check_same_model(mmdet_model, 'f.pth', condinst, 'the model')


# ------------------------------------------- the loader itself (in-process)


class _Net(torch.nn.Module):

    def __init__(self, classes=3):
        super().__init__()
        self.body = torch.nn.Linear(2, 4)
        self.bn = torch.nn.BatchNorm1d(4)
        self.cls = torch.nn.Linear(4, classes)


def test_loader_reports_every_kind_of_mismatch(tmp_path):
    from mmvis_clip.utils.checkpoint_loading import (CheckpointError,
                                                     load_checkpoint_checked)
    src = _Net(classes=5).state_dict()
    src['extra.weight'] = torch.zeros(1)
    del src['body.bias']
    path = str(tmp_path / 'net.pth')
    torch.save({'state_dict': src}, path)
    net = _Net()
    before = {k: v.clone() for k, v in net.state_dict().items()}
    with pytest.raises(CheckpointError) as err:
        load_checkpoint_checked(net, path, what='the net')
    message = str(err.value)
    assert message.startswith(f'checkpoint {path} does not fit the net: ')
    assert '1 model keys missing from it (body.bias)' in message
    assert '1 keys the model does not have (extra.weight)' in message
    assert '2 of other shapes (cls.weight (5, 4) in the checkpoint, ' \
        '(3, 4) in the model' in message
    assert isinstance(err.value, RuntimeError)  # the API's former type

    # partial: what fits is loaded, the rest keeps its values
    net = _Net()
    net.load_state_dict(before)
    load_checkpoint_checked(net, path, allow_partial=True)
    after = net.state_dict()
    assert torch.equal(after['body.weight'], src['body.weight'])
    assert torch.equal(after['bn.running_var'], src['bn.running_var'])
    for key in ('body.bias', 'cls.weight', 'cls.bias'):
        assert torch.equal(after[key], before[key]), key

    # a DDP-style prefix is stripped; an exact checkpoint loads silently
    torch.save({'state_dict': {f'module.{k}': v
                               for k, v in before.items()}}, path)
    load_checkpoint_checked(_Net(), path)


def test_loader_takes_what_a_model_converts_when_allowed(tmp_path):
    from mmvis_clip.utils.checkpoint_loading import (CheckpointError,
                                                     load_checkpoint_checked,
                                                     mark_converted)

    def convert(module, state_dict, prefix, *args):
        if any(k.startswith('old.') for k in state_dict):
            for key in list(state_dict):
                state_dict[key.replace('old.', 'body.')] = \
                    state_dict.pop(key)
            mark_converted(state_dict, 'an old-style net')

    src = {'old.weight': torch.ones(4, 2), 'old.bias': torch.ones(4)}
    path = str(tmp_path / 'old.pth')
    torch.save(src, path)  # a bare state dict
    net = _Net()
    net.register_load_state_dict_pre_hook(convert)
    with pytest.raises(CheckpointError, match='model keys missing'):
        load_checkpoint_checked(net, path)  # strict: tools/test.py, API
    load_checkpoint_checked(net, path, allow_converted=True)  # load_from
    assert torch.equal(net.body.weight, src['old.weight'])
    # without the conversion's mark it is refused even then
    torch.save({'body.weight': torch.ones(4, 2)}, path)
    with pytest.raises(CheckpointError, match='model keys missing'):
        load_checkpoint_checked(net, path, allow_converted=True)
    # a converted checkpoint with tensors the model has no place for is
    # another model's: refused unless a partial load is asked for
    torch.save(dict(src, **{'old_head.weight': torch.ones(3)}), path)
    with pytest.raises(CheckpointError, match="it is another model's "
                       r'\(converted as an old-style net, it leaves .*1 '
                       r'keys the model does not have \(old_head.weight'):
        load_checkpoint_checked(net, path, allow_converted=True)
    load_checkpoint_checked(net, path, allow_partial=True)
