"""How busy the machine is before a benchmark starts.

Timings taken beside another busy process mean little: on 2 cores, one
single-threaded process beside a training made it 13x slower (OpenMP
threads spinning while they wait for a core). The benchmark tools sample
the CPU time the whole machine spends, less their own, over a moment
before they measure, print it in one line and warn when it is busy.
"""
import os
import time
from typing import NamedTuple, Optional, Tuple

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


def read_cpu_jiffies(stat: str = '/proc/stat') -> Tuple[int, int]:
    """(busy, total) clock ticks of all cores since boot, from the ``cpu``
    line of ``/proc/stat`` (user nice system idle iowait irq softirq
    steal; idle and iowait are not busy; guest time is inside user)."""
    with open(stat) as f:
        fields = [int(v) for v in f.readline().split()[1:9]]
    total = sum(fields)
    return total - fields[3] - fields[4], total


def read_own_jiffies(stat: str = '/proc/self/stat') -> int:
    """Clock ticks this process and its waited-for children have used
    (utime, stime, cutime, cstime of ``/proc/self/stat``)."""
    with open(stat) as f:
        # the command name (field 2) may hold spaces: split after its ')'
        fields = f.read().rsplit(')', 1)[1].split()
    return sum(int(v) for v in fields[11:15])


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

    def sample():
        return read_cpu_jiffies() + (read_own_jiffies(), )

    cores = os.cpu_count() or 1
    before = sample()
    time.sleep(seconds)
    return MachineLoad(
        busy_cores(before, sample(), cores), cores, seconds,
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
