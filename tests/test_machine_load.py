"""mmvis_clip.utils.machine_load: the benchmark tools' load line."""
import os
import shlex
import signal
import subprocess
import sys
import time

from mmvis_clip.utils import machine_load
from mmvis_clip.utils.machine_load import (MachineLoad, busy_cores,
                                           describe_machine_load)


def test_busy_cores_by_hand():
    # 400 ticks on 2 cores: 300 busy, 100 of them our own -> 200 / 400 x 2
    assert busy_cores((1000, 5000, 10), (1300, 5400, 110), 2) == 1.0
    # our own work alone: nothing else is busy
    assert busy_cores((0, 0, 0), (50, 400, 50), 2) == 0.0
    # no ticks between the samples
    assert busy_cores((5, 9, 1), (5, 9, 1), 2) == 0.0


def test_proc_stat_fields(tmp_path):
    stat = tmp_path / 'stat'
    # user nice system idle iowait irq softirq steal guest guest_nice
    stat.write_text('cpu  100 5 20 800 30 1 2 3 40 0\ncpu0 1 2 3 4\n')
    assert machine_load.read_cpu_jiffies(str(stat)) == (131, 961)
    own = tmp_path / 'self_stat'
    # a command name with spaces and ')' in it; utime stime cutime cstime
    # are fields 14-17
    own.write_text('42 (a b) c) S 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16')
    assert machine_load.read_own_jiffies(str(own)) == 11 + 12 + 13 + 14


def test_a_busy_process_beside_is_seen_and_warned_of():
    # another process, not a child: the tools count their own children
    # (dataloader workers) as their own time
    spin = 'import time\nend = time.time() + 20\nwhile time.time() < end: pass'
    pid = int(subprocess.run(
        ['sh', '-c', f'{shlex.quote(sys.executable)} -c '
         f'{shlex.quote(spin)} >/dev/null 2>&1 & echo $!'],
        capture_output=True, text=True, check=True).stdout)
    try:
        time.sleep(0.2)
        load = machine_load.measure_machine_load(1.0)
    finally:
        os.kill(pid, signal.SIGKILL)
    assert load.busy_cores >= 0.5, load
    text = describe_machine_load(load)
    assert 'warning: the machine is busy' in text.splitlines()[1]


def test_quiet_machine_has_one_line():
    load = MachineLoad(0.1, 2, 1.0, (0.2, 0.3, 0.4))
    assert describe_machine_load(load) == (
        'machine load: other processes kept 0.10 of 2 cores busy over 1 s '
        'before the run (load average 1 / 5 / 15 min: 0.2 / 0.3 / 0.4)')
