"""How busy the machine is before a benchmark starts: the CPU time other
processes use over a moment (docs/benchmarks.md, "Speed and memory").
"""
import os
import time
from typing import Collection, List, NamedTuple, Optional, Tuple

#: other processes using more than this many cores make a warning
BUSY_CORES = 0.25


class MachineLoad(NamedTuple):
    """CPU use of the other processes over a sampled interval.

    Attributes:
        busy_cores (float): Cores other processes kept busy on average.
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
    """(busy, total) clock ticks since boot from ``/proc/stat`` (idle
    and iowait are not busy).

    Args:
        stat (str): The file to read.
        cpus (Collection[int], optional): Sum these cores' ``cpuN`` lines;
            None: the ``cpu`` line of all cores.
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
    """The fields of a ``/proc/<pid>/stat`` after the command name."""
    with open(stat) as f:
        return f.read().rsplit(')', 1)[1].split()


def read_own_jiffies(stat: str = '/proc/self/stat') -> int:
    """Clock ticks this process and its waited-for children have used
    (utime, stime, cutime, cstime of ``/proc/self/stat``)."""
    return sum(int(v) for v in _process_stat_fields(stat)[11:15])


def read_children_jiffies(pid: int, proc: str = '/proc') -> int:
    """Clock ticks the live child processes of ``pid`` and their
    waited-for children have used."""
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
    children have used (read again if a child was waited for meanwhile).
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
    """One sample for :func:`busy_cores`: busy and total ticks of
    ``cpus`` (default: all) and this process's family ticks."""
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
