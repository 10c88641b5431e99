"""``load_from`` checks shared by the tools (``mmvis_clip.engine.launch``)."""
import os
import os.path as osp

import pytest
from mmengine.config import Config

from mmvis_clip.engine import check_load_from, load_from_producer

REPO = osp.dirname(osp.dirname(osp.abspath(__file__)))
CICO = osp.join(REPO, 'configs', 'cico')


def test_load_from_producer_finds_the_config_that_writes_the_checkpoint():
    config = osp.join(CICO, 'cico-yolact_r18_fpn_1xb4-4e_synthetic.py')
    load_from = Config.fromfile(config).load_from
    assert load_from_producer(load_from, config) == (osp.join(
        CICO, 'cico-yolact_r18_fpn_fifo_1xb4-8e_synthetic.py'), 'epoch_8.pth')
    # a leading ./ is normalised away
    assert load_from_producer('./' + load_from, config)[1] == 'epoch_8.pth'


@pytest.mark.parametrize('load_from', [
    None, '', 'https://download.openmmlab.com/x.pth', 'mmdet::x.pth',
    'work_dirs/no_such_config/epoch_8.pth', 'work_dirs/x.pth',
    'work_dirs/cico-yolact_r18_fpn_fifo_1xb4-8e_synthetic/sub/epoch_8.pth',
    'checkpoints/cico-yolact_r18_fpn_fifo_1xb4-8e_synthetic/epoch_8.pth'
])
def test_load_from_producer_none_for_other_paths(load_from):
    config = osp.join(CICO, 'cico-yolact_r18_fpn_1xb4-4e_synthetic.py')
    assert load_from_producer(load_from, config) is None


def test_check_load_from_names_the_config_to_train_first(tmp_path,
                                                         monkeypatch):
    monkeypatch.chdir(tmp_path)  # no work_dirs/ here
    config = osp.join(CICO, 'cico-condinst_r18_fpn_1xb4-4e_synthetic.py')
    cfg = Config.fromfile(config)
    with pytest.raises(FileNotFoundError) as error:
        check_load_from(cfg, config)
    message = str(error.value)
    assert message.startswith(f'{config}: load_from {cfg.load_from!r}')
    assert 'python tools/train.py ' + osp.join(
        CICO, 'cico-condinst_r18_fpn_fifo_1xb4-8e_synthetic.py') in message

    # once the producer has been trained, the check passes
    ckpt = tmp_path / cfg.load_from
    ckpt.parent.mkdir(parents=True)
    ckpt.write_bytes(b'')
    # an empty file (a save that was killed) is not a checkpoint
    from mmvis_clip.utils.checkpoint_loading import CheckpointError
    with pytest.raises(CheckpointError, match='epoch_8.pth is empty'):
        check_load_from(cfg, config)
    import torch
    torch.save({'state_dict': {}}, str(ckpt))
    check_load_from(cfg, config)


def test_check_load_from_other_missing_files_and_remote_paths(tmp_path):
    config = str(tmp_path / 'model.py')
    missing = str(tmp_path / 'missing.pth')
    with pytest.raises(FileNotFoundError, match='does not exist.$'):
        check_load_from(Config(dict(load_from=missing)), config)
    for load_from in (None, 'https://example.com/model.pth',
                      'torchvision://resnet18'):
        check_load_from(Config(dict(load_from=load_from)), config)


def test_cuda_determinism_is_relaxed_with_one_message(monkeypatch):
    import torch
    from mmengine.config import Config

    from mmvis_clip.engine import relax_cuda_determinism
    cfg = Config(dict(randomness=dict(seed=0, deterministic=True)))
    monkeypatch.setattr(torch.cuda, 'is_available', lambda: False)
    assert not relax_cuda_determinism(cfg)  # CPU: torch's setting stays
    monkeypatch.setattr(torch.cuda, 'is_available', lambda: True)
    import mmengine.logging
    messages = []
    monkeypatch.setattr(mmengine.logging, 'print_log',
                        lambda msg, **kwargs: messages.append(msg))
    assert not relax_cuda_determinism(Config(dict(randomness=dict(seed=0))))
    torch.use_deterministic_algorithms(True)
    try:
        assert relax_cuda_determinism(cfg)
        assert len(messages) == 1
        assert 'upsample_bilinear2d backward' in messages[0]
        assert torch.are_deterministic_algorithms_enabled()
        assert torch.is_deterministic_algorithms_warn_only_enabled()
    finally:
        torch.use_deterministic_algorithms(False)


# ------------------------------------------------- --data-root, cfg-options


def _wrapped_cfg(root='data/a/', top_level_root=True):
    """Datasets in RepeatDataset / ConcatDataset wrappers, evaluators as a
    list, every path built from ``root`` (as a parsed config has them)."""
    def dataset(split):
        return dict(type='SyntheticVISDataset', data_root=root,
                    ann_file=f'annotations/{split}.json',
                    data_prefix=dict(img_path=f'{split}/JPEGImages'))

    return Config(dict(
        **(dict(data_root=root) if top_level_root else {}),
        train_dataloader=dict(dataset=dict(
            type='RepeatDataset', times=2, dataset=dict(
                type='ConcatDataset',
                datasets=[dataset('train'), dataset('extra')]))),
        val_dataloader=dict(dataset=dataset('valid')),
        val_evaluator=[dict(type='VISMetric',
                            ann_file=root + 'annotations/valid.json'),
                       dict(type='VISMetric', ann_file=None)],
        test_evaluator=dict(type='VISMetric',
                            ann_file=root + 'annotations/valid.json',
                            outfile_prefix='./work_dirs/out'),
        work_dir='./work_dirs/x'))


def test_data_root_reaches_nested_datasets_and_evaluators():
    from mmvis_clip.engine import apply_data_root
    cfg = _wrapped_cfg()
    changed = apply_data_root(cfg, '/new/root')
    assert cfg.data_root == '/new/root/'
    inner = cfg.train_dataloader.dataset.dataset.datasets
    assert [d.data_root for d in inner] == ['/new/root/'] * 2
    assert cfg.val_dataloader.dataset.data_root == '/new/root/'
    assert cfg.val_evaluator[0].ann_file == \
        '/new/root/annotations/valid.json'
    assert cfg.val_evaluator[1].ann_file is None
    assert cfg.test_evaluator.ann_file == '/new/root/annotations/valid.json'
    # relative paths inside a dataset stay relative to its data_root
    assert inner[0].ann_file == 'annotations/train.json'
    assert cfg.test_evaluator.outfile_prefix == './work_dirs/out'
    assert sorted(changed) == sorted([
        'train_dataloader.dataset.dataset.datasets.0.data_root',
        'train_dataloader.dataset.dataset.datasets.1.data_root',
        'val_dataloader.dataset.data_root', 'val_evaluator.0.ann_file',
        'test_evaluator.ann_file'
    ])
    # a root that only shares the old one's beginning is another folder
    cfg = _wrapped_cfg('data/a')
    cfg.test_evaluator.ann_file = 'data/ab/valid.json'
    apply_data_root(cfg, 'data/b/')
    assert cfg.data_root == 'data/b'
    assert cfg.test_evaluator.ann_file == 'data/ab/valid.json'


def test_data_root_refuses_to_guess():
    from mmvis_clip.engine import apply_data_root
    from mmvis_clip.utils.user_errors import UserError
    cfg = _wrapped_cfg()
    cfg.val_dataloader.dataset.data_root = 'data/other/'
    with pytest.raises(UserError, match='val_dataloader.dataset.data_root='
                       "'data/other/' is not the config's data_root"):
        apply_data_root(cfg, 'data/b/')
    # no top-level data_root, one among the datasets: that one
    cfg = _wrapped_cfg(top_level_root=False)
    apply_data_root(cfg, 'data/b/')
    assert cfg.val_dataloader.dataset.data_root == 'data/b/'


@pytest.mark.parametrize('options', [
    {'train_cfg.max_epochs': 3},
    {'model.tracker.embed_similarity': 'cosine'},
    {'model.tracker.num_frames_retain': 5},
    {'randomness.seed': 0, 'randomness.deterministic': True},
    {'optim_wrapper.paramwise_cfg.norm_decay_mult': 0.0},
    {'optim_wrapper.optimizer.nesterov': True},
    {'model.detector.backbone.norm_cfg.momentum': 0.01},
    {'model.detector.backbone.init_cfg': None},
    {'train_dataloader.pin_memory': True},
    {'val_evaluator.outfile_prefix': 'out'},
    {'default_hooks.checkpoint.save_best': 'auto'},
    {'custom_hooks': []},
    {'load_from': 'x.pth', 'resume': True, 'work_dir': 'w'},
    {'activation_checkpointing': ['detector.backbone']},
    {'model.detector.test_cfg.new_key': 1},
    {'train_dataloader.dataset.pipeline.0.num_ref_imgs': 2},
    {'param_scheduler.0.convert_to_iter_based': True},
    {'model.tracker.type': 'mmdet.QuasiDenseTracker'},
    {'model.detector.backbone.norm_cfg.type': 'SyncBN'},
])
def test_cfg_options_that_the_config_can_take(options):
    from mmvis_clip.engine import check_cfg_options
    config = osp.join(REPO, 'configs', 'stc',
                      'stc_r18_fpn_1xb4-8e_synthetic.py')
    check_cfg_options(Config.fromfile(config), options)


@pytest.mark.parametrize('options, message', [
    ({'randomnes.seed': 0}, r"no key 'randomnes' \(did you mean randomness"),
    ({'test_cfgg.fp16': True}, r"no key 'test_cfgg' \(did you mean test_cfg"),
    ({'model.detector.backbone.init_cfg.checkpoint': 'x.pth'},
     'model.detector.backbone.init_cfg is None, not a dict'),
    ({'model.test_cfg.score_thr': 0.1}, "STC takes no 'test_cfg'"),
    ({'model.tracker.num_frames_retian': 5},
     "model.tracker.num_frames_retian: .* takes no 'num_frames_retian' "
     r'\(did you mean num_frames_retain'),
    ({'randomness.sed': 0}, r'did you mean seed'),
    ({'train_cfg.max_epochs': 'abc'}, 'a number is needed'),
    ({'randomness.deterministic': 'yes'}, 'True or False is needed'),
    ({'param_scheduler.5.end': 3}, 'is a list of 2'),
    ({'model.tracker.type': 'STCTracker', 'model.tracker.foo': 1},
     "takes no 'foo'"),
    ({'train_cfg.max_epoch': 3}, r'EpochBasedTrainLoop takes no .*max_epochs'),
    ({'train_dataloader.batch_sizee': 1}, r'did you mean batch_size'),
    ({'model.tracker.num_frames_retain': 'five'}, 'a number is needed'),
    ({'model.tracker.new_track_cosine': 'high'}, 'a number is needed'),
    ({'model.detector.backbone.depth.x': 1},
     'model.detector.backbone.depth is 18, not a dict'),
    ({'model.tracker.type': 'STCTrackr'},
     r"no 'STCTrackr' in the MODELS registry \(did you mean STCTracker"),
])
def test_cfg_options_nothing_would_read(options, message):
    from mmvis_clip.engine import check_cfg_options
    from mmvis_clip.utils.user_errors import UserError
    config = osp.join(REPO, 'configs', 'stc',
                      'stc_r18_fpn_1xb4-8e_synthetic.py')
    with pytest.raises(UserError, match=message):
        check_cfg_options(Config.fromfile(config), options)


def test_checkpoint_load_hook_replaces_a_dumped_one():
    from mmvis_clip.engine import use_checkpoint_load_hook
    cfg = Config(dict(load_from='a.pth', custom_hooks=[
        dict(type='CheckpointLoadHook', checkpoint='old.pth'),
        dict(type='EMAHook')
    ]))
    use_checkpoint_load_hook(cfg, 'https://example.com/new.pth', partial=True)
    assert cfg.load_from is None
    assert cfg.custom_hooks == [
        dict(type='EMAHook'),
        dict(type='CheckpointLoadHook', checkpoint='https://example.com/'
             'new.pth', partial=True, converted=False)
    ]


# ------------------------------------------------------------- --launcher

LAUNCH_VARS = ('RANK', 'WORLD_SIZE', 'MASTER_ADDR', 'MASTER_PORT',
               'LOCAL_RANK', 'SLURM_PROCID', 'SLURM_NTASKS',
               'SLURM_NODELIST', 'SLURM_LOCALID', 'OMPI_COMM_WORLD_RANK',
               'OMPI_COMM_WORLD_SIZE', 'OMPI_COMM_WORLD_LOCAL_RANK')


@pytest.fixture
def bare_env(monkeypatch):
    """No launcher's variables, no scontrol on PATH."""
    for name in LAUNCH_VARS:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv('PATH', '/nonexistent')
    return monkeypatch


@pytest.mark.parametrize('launcher, names, how', [
    ('pytorch', 'RANK, WORLD_SIZE, MASTER_ADDR, MASTER_PORT are not set: '
     'this process was not started by torchrun',
     'tools/dist_train.sh CONFIG NUM_PROCS'),
    ('slurm', 'SLURM_PROCID, SLURM_NTASKS, SLURM_NODELIST, MASTER_ADDR '
     '(scontrol, which finds it, is not on PATH) are not set: this '
     'process was not started by srun',
     'tools/slurm_train.sh PARTITION JOB_NAME CONFIG WORK_DIR'),
    ('mpi', 'OMPI_COMM_WORLD_RANK, OMPI_COMM_WORLD_SIZE, '
     'OMPI_COMM_WORLD_LOCAL_RANK, MASTER_ADDR are not set',
     'mpirun (with MASTER_ADDR set)'),
])
def test_launcher_without_its_environment(bare_env, launcher, names, how):
    from mmvis_clip.engine import check_launcher_env
    from mmvis_clip.utils.user_errors import UserError
    with pytest.raises(UserError) as error:
        check_launcher_env(launcher)
    message = str(error.value)
    assert message.startswith(f'--launcher {launcher}: {names}'), message
    assert f'start it with {how}, or leave out --launcher' in message
    check_launcher_env('none')  # one process needs nothing


def test_launcher_environment_that_is_there(bare_env):
    from mmvis_clip.engine import check_launcher_env
    from mmvis_clip.utils.user_errors import UserError
    for name, value in (('RANK', '0'), ('WORLD_SIZE', '2'),
                        ('MASTER_ADDR', '127.0.0.1'), ('MASTER_PORT', '1')):
        bare_env.setenv(name, value)
    check_launcher_env('pytorch')
    bare_env.setenv('WORLD_SIZE', 'two')
    with pytest.raises(UserError, match="WORLD_SIZE='two' is not a whole "
                       'number; start it with tools/dist_test.sh CONFIG '
                       'CHECKPOINT NUM_PROCS'):
        check_launcher_env('pytorch', 'test')
    # slurm with MASTER_ADDR given needs no scontrol
    for name, value in (('SLURM_PROCID', '0'), ('SLURM_NTASKS', '1'),
                        ('SLURM_NODELIST', 'node1')):
        bare_env.setenv(name, value)
    bare_env.setenv('WORLD_SIZE', '2')
    check_launcher_env('slurm')


def _tool(*cmd, env_drop=LAUNCH_VARS):
    import subprocess
    import sys
    env = {k: v for k, v in os.environ.items() if k not in env_drop}
    env.update(PYTHONPATH=REPO, OMP_NUM_THREADS='1')
    return subprocess.run([sys.executable, *cmd], cwd=REPO, env=env,
                          capture_output=True, text=True, timeout=600)


@pytest.mark.parametrize('tool, launcher, line', [
    ('train.py', 'pytorch', 'error: --launcher pytorch: RANK, WORLD_SIZE, '
     'MASTER_ADDR, MASTER_PORT are not set: this process was not started '
     'by torchrun; start it with tools/dist_train.sh CONFIG NUM_PROCS, or '
     'leave out --launcher for one process'),
    ('test.py', 'slurm', 'error: --launcher slurm: SLURM_PROCID, '
     'SLURM_NTASKS, SLURM_NODELIST'),
])
def test_tools_refuse_a_launcher_without_its_environment(tool, launcher,
                                                         line):
    config = osp.join(REPO, 'configs', 'stc',
                      'stc_r18_fpn_1xb4-8e_synthetic.py')
    args = [config] + (['x.pth'] if tool == 'test.py' else [])
    proc = _tool(osp.join('tools', tool), *args, '--launcher', launcher)
    assert proc.returncode == 1, proc.stderr[-3000:]
    assert 'Traceback' not in proc.stderr, proc.stderr[-3000:]
    assert proc.stderr.strip().splitlines()[-1].startswith(line)


def test_launcher_local_rank_beyond_the_gpus(bare_env):
    import torch

    from mmvis_clip.engine import check_launcher_env
    from mmvis_clip.utils.user_errors import UserError
    for name, value in (('RANK', '1'), ('WORLD_SIZE', '2'),
                        ('MASTER_ADDR', '127.0.0.1'), ('MASTER_PORT', '1'),
                        ('LOCAL_RANK', '1')):
        bare_env.setenv(name, value)
    bare_env.setattr(torch.cuda, 'is_available', lambda: True)
    bare_env.setattr(torch.cuda, 'device_count', lambda: 1)
    with pytest.raises(UserError, match=r'LOCAL_RANK=1, but this host has '
                       r'1 GPU\(s\); start at most one process per GPU'):
        check_launcher_env('pytorch')
    bare_env.setenv('LOCAL_RANK', '0')
    check_launcher_env('pytorch')
