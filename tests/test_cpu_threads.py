"""CPU threads sized to the free cores: start-up choice and hook."""
import os
import subprocess
import sys
from types import SimpleNamespace

import pytest
import torch
import torch.nn as nn

from mmvis_clip.engine import cpu_threads_hook
from mmvis_clip.engine.cpu_threads_hook import CPUThreadsHook
from mmvis_clip.utils import cpu_threads
from mmvis_clip.utils.cpu_threads import (AUTO_VARIABLE, CPUThreads,
                                          choose_cpu_threads,
                                          describe_cpu_threads, free_threads,
                                          physical_cores)

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


@pytest.mark.parametrize(
    'busy, cpus, cores, threads',
    [
        (1.0, 2, 2, 1),  # one busy process on 2 cores
        (0.67, 2, 2, 1),  # its share beside a training spinning on both
        (0.3, 2, 2, 2),  # a browser, an editor: less than half a core
        (0.5, 4, 4, 3),  # half a core counts as taken
        (0.49, 4, 4, 4),
        (2.0, 2, 2, 1),  # never fewer than one
        (1.0, 16, 8, 8),  # hyper-threads: at most the physical cores
    ])
def test_free_threads_by_hand(busy, cpus, cores, threads):
    assert free_threads(busy, cpus, cores) == threads


def test_physical_cores_counts_hyper_threads_once(tmp_path):
    for cpu, core in enumerate([0, 1, 0, 1]):
        topology = tmp_path / f'cpu{cpu}' / 'topology'
        topology.mkdir(parents=True)
        (topology / 'physical_package_id').write_text('0\n')
        (topology / 'core_id').write_text(f'{core}\n')
    assert physical_cores([0, 1, 2, 3], str(tmp_path)) == 2
    assert physical_cores([0, 1], str(tmp_path)) == 2
    # no topology to read: every CPU is a core
    assert physical_cores([0, 1, 5], str(tmp_path)) == 3


def write_proc(proc, cpu_lines, own, child):
    """A fake /proc: per-core lines (user ... steal), this process'
    utime stime cutime cstime and one live child's, and a process that is
    not our child."""
    lines = ['cpu  0 0 0 0 0 0 0 0 0 0']
    lines += [f'cpu{i} ' + ' '.join(map(str, v)) + ' 0 0'
              for i, v in enumerate(cpu_lines)]
    (proc / 'stat').write_text('\n'.join(lines) + '\nintr 1 2 3\n')
    pid = os.getpid()
    for name, ppid, ticks in [('self', 1, own), ('4242', pid, child),
                              ('4343', 1, (500, 500, 0, 0))]:
        (proc / name).mkdir(exist_ok=True)
        (proc / name / 'stat').write_text(
            f'{name} (a (b) c) S {ppid} 0 0 0 0 0 0 0 0 0 ' +
            ' '.join(map(str, ticks)) + ' 20 0')


@pytest.fixture
def two_cpus(monkeypatch, tmp_path):
    """This process on CPUs 0 and 1 of a fake 3-CPU machine, 2 cores."""
    monkeypatch.setattr(cpu_threads, 'usable_cpus', lambda: [0, 1])
    monkeypatch.setattr(cpu_threads, 'physical_cores', lambda cpus, s: 2)
    proc = tmp_path / 'proc'
    proc.mkdir()
    idle = [0, 0, 0, 1000, 0, 0, 0, 0]
    write_proc(proc, [idle, idle, idle], (10, 0, 0, 0), (0, 0, 0, 0))

    def one_busy_process(seconds):
        # over the sample: CPU 0 busy (another process), CPU 1 half busy
        # with our dataloader worker, CPU 2 (not ours) busy
        write_proc(proc, [[100, 0, 0, 1000, 0, 0, 0, 0],
                          [30, 0, 20, 1050, 0, 0, 0, 0],
                          [100, 0, 0, 1000, 0, 0, 0, 0]], (10, 0, 0, 0),
                   (40, 10, 0, 0))

    monkeypatch.setattr(cpu_threads, 'time',
                        SimpleNamespace(sleep=one_busy_process))
    return str(proc)


def test_one_busy_process_leaves_one_thread(two_cpus):
    choice = choose_cpu_threads({}, proc=two_cpus)
    # (150 busy - 50 ours) / 200 ticks x 2 CPUs
    assert choice == CPUThreads(1, 2, 2, 1.0, 0.2, None)
    assert choice.automatic
    assert describe_cpu_threads(choice) == (
        'CPU threads: 1 of 2 CPUs (1.0 kept busy by other processes over '
        '0.2 s); set OMP_NUM_THREADS to choose')


def test_the_users_setting_is_left_alone(two_cpus, monkeypatch):
    monkeypatch.setattr(cpu_threads, 'time', None)  # no sample taken
    choice = choose_cpu_threads({'OMP_NUM_THREADS': '3'}, proc=two_cpus)
    assert choice == CPUThreads(3, 2, 2, None, 0.0, 'OMP_NUM_THREADS=3')
    assert not choice.automatic
    assert describe_cpu_threads(choice) == (
        'CPU threads: OMP_NUM_THREADS=3 (from the environment)')
    choice = choose_cpu_threads({'MKL_NUM_THREADS': '2'}, proc=two_cpus)
    assert choice.user_setting == 'MKL_NUM_THREADS=2'
    # changed after a tool set it: the user's
    choice = choose_cpu_threads({
        'OMP_NUM_THREADS': '2', AUTO_VARIABLE: '1'}, proc=two_cpus)
    assert choice.user_setting == 'OMP_NUM_THREADS=2'


def test_a_tools_inherited_choice_is_made_again(two_cpus):
    choice = choose_cpu_threads({
        'OMP_NUM_THREADS': '2', AUTO_VARIABLE: '2'}, proc=two_cpus)
    assert choice.automatic and choice.threads == 1


def test_apply_sets_the_variable_once(two_cpus, monkeypatch):
    for name in ('OMP_NUM_THREADS', 'MKL_NUM_THREADS', AUTO_VARIABLE):
        monkeypatch.setenv(name, 'x')  # restored after the test
        monkeypatch.delenv(name)
    monkeypatch.setattr(cpu_threads, '_applied', None)
    # torch is loaded in this process: it would not read the variable
    assert cpu_threads.apply_cpu_thread_defaults() is None
    assert 'OMP_NUM_THREADS' not in os.environ
    assert 'not sized' in describe_cpu_threads(None)

    real_choose = cpu_threads.choose_cpu_threads
    monkeypatch.setattr(cpu_threads, 'sys', SimpleNamespace(modules={}))
    monkeypatch.setattr(cpu_threads, 'choose_cpu_threads',
                        lambda: real_choose(proc=two_cpus))
    choice = cpu_threads.apply_cpu_thread_defaults()
    assert choice.threads == 1 and cpu_threads.applied_cpu_threads() is choice
    assert os.environ['OMP_NUM_THREADS'] == '1'
    assert os.environ[AUTO_VARIABLE] == '1'
    monkeypatch.setattr(cpu_threads, 'choose_cpu_threads', None)
    assert cpu_threads.apply_cpu_thread_defaults() is choice


class Logger:

    def __init__(self):
        self.lines = []

    def info(self, line):
        self.lines.append(line)


@pytest.fixture
def fake_load(monkeypatch):
    """The hook's start-up choice (2 threads, chosen from the load) and
    /proc/stat samples (busy, total, ours) queued by the test."""
    monkeypatch.setattr(cpu_threads_hook, 'applied_cpu_threads',
                        lambda: CPUThreads(2, 2, 2, 0.0, 0.2, None))
    monkeypatch.setattr(cpu_threads_hook, 'usable_cpus', lambda: [0, 1])
    monkeypatch.setattr(cpu_threads_hook, 'physical_cores', lambda cpus: 2)
    samples = []
    monkeypatch.setattr(cpu_threads_hook, 'sample_cpu_ticks',
                        lambda cpus: samples.pop(0))
    threads = torch.get_num_threads()
    torch.set_num_threads(2)
    yield samples
    torch.set_num_threads(threads)


def run_iters(hook, runner, count):
    for i in range(count):
        hook.after_train_iter(runner, i)


def test_hook_follows_the_load(fake_load):
    runner = SimpleNamespace(model=nn.Linear(2, 2), logger=Logger())
    hook = CPUThreadsHook(interval=2)
    fake_load += [(0, 0, 0), (150, 200, 50), (170, 400, 70)]
    hook.before_run(runner)
    assert runner.logger.lines == ['CPU threads: 2 of 2 CPUs (0.0 kept busy '
                                   'by other processes over 0.2 s); set '
                                   'OMP_NUM_THREADS to choose']
    run_iters(hook, runner, 1)
    assert torch.get_num_threads() == 2 and len(fake_load) == 2
    # another process took a core
    run_iters(hook, runner, 1)
    assert torch.get_num_threads() == 1
    assert runner.logger.lines[1] == (
        'CPU threads: 2 -> 1 of 2 CPUs (1.0 kept busy by other processes '
        'over the last 2 iterations)')
    # ... and ended
    hook.after_val_iter(runner, 0)
    hook.after_test_iter(runner, 1)
    assert torch.get_num_threads() == 2
    assert runner.logger.lines[2].startswith('CPU threads: 1 -> 2 of 2 CPUs')
    # set by someone else: no longer changed
    torch.set_num_threads(1)
    run_iters(hook, runner, 4)
    assert torch.get_num_threads() == 1 and fake_load == []
    assert runner.logger.lines[3] == (
        'CPU threads: set to 1 elsewhere; no longer sized to the free cores')


def test_hook_leaves_a_model_off_the_cpu_alone(fake_load):
    runner = SimpleNamespace(
        model=nn.Linear(2, 2, device='meta'), logger=Logger())
    hook = CPUThreadsHook(interval=1)
    hook.before_run(runner)
    run_iters(hook, runner, 3)  # no sample taken (none queued)
    assert torch.get_num_threads() == 2 and len(runner.logger.lines) == 1


def test_hook_leaves_the_users_count_alone(fake_load, monkeypatch):
    monkeypatch.setattr(
        cpu_threads_hook, 'applied_cpu_threads',
        lambda: CPUThreads(2, 2, 2, None, 0.0, 'OMP_NUM_THREADS=2'))
    runner = SimpleNamespace(model=nn.Linear(2, 2), logger=Logger())
    hook = CPUThreadsHook(interval=1)
    hook.before_run(runner)
    run_iters(hook, runner, 3)
    assert torch.get_num_threads() == 2
    assert runner.logger.lines == [
        'CPU threads: OMP_NUM_THREADS=2 (from the environment)']


def test_configs_have_the_hook():
    from mmengine.config import Config
    for config in ('configs/stc/stc_r18_fpn_1xb4-8e_synthetic.py',
                   'configs/masktrack_rcnn/'
                   'masktrack-rcnn_r18_fpn_1xb4-8e_synthetic.py'):
        cfg = Config.fromfile(os.path.join(REPO, config))
        assert cfg.default_hooks.cpu_threads == dict(type='CPUThreadsHook')


@pytest.mark.slow
def test_a_tool_imports_mmvis_clip_first_and_gets_the_free_cores():
    """A busy process beside: the tool's torch starts with fewer threads
    than the CPUs, from OMP_NUM_THREADS set before torch loaded."""
    cpus = len(os.sched_getaffinity(0))
    if cpus < 2:
        pytest.skip('one CPU: no thread count below it')
    env = {k: v for k, v in os.environ.items()
           if k not in ('OMP_NUM_THREADS', 'MKL_NUM_THREADS', AUTO_VARIABLE)}
    env['PYTHONPATH'] = REPO
    spin = subprocess.Popen(
        [sys.executable, '-c', 'print("ready", flush=True)\nwhile 1: pass'],
        stdout=subprocess.PIPE, text=True)
    try:
        assert spin.stdout.readline() == 'ready\n'
        out = subprocess.run(
            [sys.executable, '-c',
             'import mmvis_clip, os, torch\n'
             'print(os.environ["OMP_NUM_THREADS"], '
             f'os.environ["{AUTO_VARIABLE}"], torch.get_num_threads())'],
            env=env, capture_output=True, text=True, timeout=120)
    finally:
        spin.kill()
        spin.wait()
    assert out.returncode == 0, out.stderr
    variable, auto, threads = out.stdout.split()
    assert variable == auto == threads
    assert 1 <= int(threads) < cpus  # the busy process's CPU is left
