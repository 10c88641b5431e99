"""How busy the machine is before a benchmark starts.

Timings taken beside another busy process mean little: on 2 cores, one
single-threaded process beside a training made it 13x slower (OpenMP
threads spinning while they wait for a core). The benchmark tools sample
the CPU time the whole machine spends, less their own, over a moment
before they measure, print it in one line and warn when it is busy.
"""
import os
import time
from typing import Collection, List, NamedTuple, Optional, Tuple

#: other processes using more than this many cores make a warning
BUSY_CORES = 0.25


class MachineLoad(NamedTuple):
    """CPU use of the other processes over a sampled interval.

    Attributes:
        busy_cores (float): Cores kept busy by other processes on average
            (0 = idle, ``cores`` = every core).
        cores (int): The machine's cores (``os.cpu_count()``).
        seconds (float): The length of the sample.
        load_average (tuple[float, float, float]): The kernel's 1, 5 and
            15 minute load averages.
    """
    busy_cores: float
    cores: int
    seconds: float
    load_average: Tuple[float, float, float]


def read_cpu_jiffies(stat: str = '/proc/stat',
                     cpus: Optional[Collection[int]] = None
                     ) -> Tuple[int, int]:
    """(busy, total) clock ticks since boot, from ``/proc/stat`` (user
    nice system idle iowait irq softirq steal; idle and iowait are not
    busy; guest time is inside user).

    Args:
        stat (str): The file to read.
        cpus (Collection[int], optional): Sum these cores' ``cpuN`` lines
            (e.g. the cores this process may run on). Defaults to None:
            the ``cpu`` line of all cores.
    """
    with open(stat) as f:
        if cpus is None:
            rows = [f.readline().split()]
        else:
            names = {f'cpu{cpu}' for cpu in cpus}
            rows = [row for row in map(str.split, f)
                    if row and row[0] in names]
    busy = total = 0
    for row in rows:
        fields = [int(v) for v in row[1:9]]
        total += sum(fields)
        busy += sum(fields) - fields[3] - fields[4]
    return busy, total


def _process_stat_fields(stat: str) -> List[str]:
    """The fields of a ``/proc/<pid>/stat`` after the command name (field
    3, the state, first), which may hold spaces and ')'."""
    with open(stat) as f:
        return f.read().rsplit(')', 1)[1].split()


def read_own_jiffies(stat: str = '/proc/self/stat') -> int:
    """Clock ticks this process and its waited-for children have used
    (utime, stime, cutime, cstime of ``/proc/self/stat``)."""
    return sum(int(v) for v in _process_stat_fields(stat)[11:15])


def read_children_jiffies(pid: int, proc: str = '/proc') -> int:
    """Clock ticks the live child processes of ``pid`` (e.g. dataloader
    workers) and their waited-for children have used: every
    ``/proc/<child>/stat`` whose parent (field 4) is ``pid``."""
    ticks = 0
    for name in os.listdir(proc):
        if not name.isdigit():
            continue
        try:
            fields = _process_stat_fields(f'{proc}/{name}/stat')
        except OSError:  # it ended meanwhile
            continue
        if int(fields[1]) == pid:
            ticks += sum(int(v) for v in fields[11:15])
    return ticks


def read_family_jiffies(proc: str = '/proc') -> int:
    """Clock ticks this process, its waited-for children and its live
    children have used: the CPU time that is not other processes'.

    A child waited for between reading this process and reading the
    children would count twice or not at all; then both are read again.
    """
    own = f'{proc}/self/stat'
    for _ in range(3):
        before = _process_stat_fields(own)
        children = read_children_jiffies(os.getpid(), proc)
        after = _process_stat_fields(own)
        if before[13:15] == after[13:15]:  # no child waited for meanwhile
            break
    return sum(int(v) for v in after[11:15]) + children


def sample_cpu_ticks(cpus: Optional[Collection[int]] = None,
                     proc: str = '/proc') -> Tuple[int, int, int]:
    """One sample for :func:`busy_cores`: (busy ticks, total ticks) of
    ``cpus`` (default: all cores) and the ticks of this process and its
    children (:func:`read_family_jiffies`)."""
    return read_cpu_jiffies(f'{proc}/stat', cpus) + (
        read_family_jiffies(proc), )


def busy_cores(before: Tuple[int, int, int], after: Tuple[int, int, int],
               cores: int) -> float:
    """Cores the other processes kept busy between two samples.

    Args:
        before, after: (machine busy ticks, machine total ticks, own ticks).
        cores (int): The machine's cores.

    Returns:
        float: (d busy - d own) / d total x cores, at least 0.
    """
    d_busy, d_total, d_own = (a - b for a, b in zip(after, before))
    if d_total <= 0:
        return 0.0
    return max(0.0, (d_busy - d_own) / d_total * cores)


def measure_machine_load(seconds: float = 1.0) -> Optional[MachineLoad]:
    """Sample the other processes' CPU use for ``seconds``; None where
    ``/proc`` is not there (not Linux)."""
    if not os.path.isfile('/proc/stat'):
        return None
    cores = os.cpu_count() or 1
    before = sample_cpu_ticks()
    time.sleep(seconds)
    return MachineLoad(
        busy_cores(before, sample_cpu_ticks(), cores), cores, seconds,
        tuple(round(v, 2) for v in os.getloadavg()))


def describe_machine_load(load: Optional[MachineLoad]) -> str:
    """One line for the report, followed by a warning line when other
    processes keep more than :data:`BUSY_CORES` cores busy."""
    if load is None:
        return 'machine load: not measured (no /proc/stat)'
    line = (f'machine load: other processes kept {load.busy_cores:.2f} of '
            f'{load.cores} cores busy over {load.seconds:g} s before the '
            f'run (load average 1 / 5 / 15 min: '
            f'{" / ".join(str(v) for v in load.load_average)})')
    if load.busy_cores > BUSY_CORES:
        line += ('\nwarning: the machine is busy; the timings below were '
                 'taken beside other work and mean little (measure on a '
                 'quiet machine, one benchmark at a time)')
    return line
