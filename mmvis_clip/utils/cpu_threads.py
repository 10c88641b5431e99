"""CPU threads sized to the cores other processes leave free (unless the
user set a count): :func:`apply_cpu_thread_defaults` at import, before
torch; ``CPUThreadsHook`` during a CPU run. Imports neither torch nor the
rest of the package.
"""
import os
import sys
import time
from typing import List, NamedTuple, Optional

from .machine_load import busy_cores, sample_cpu_ticks

#: Variables that set the thread count: the user's choice when set.
THREAD_VARIABLES = ('OMP_NUM_THREADS', 'MKL_NUM_THREADS')
#: Holds the value :func:`apply_cpu_thread_defaults` gave
#: ``OMP_NUM_THREADS``, so that a process started by a tool (which inherits
#: it) chooses again instead of taking it for the user's.
AUTO_VARIABLE = 'MMVIS_CLIP_AUTO_THREADS'
#: Seconds of the start-up sample of ``/proc/stat`` (``/proc/loadavg``
#: lags, counts threads rather than CPU use, and covers the whole host).
SAMPLE_SECONDS = 0.2
#: A core counts as taken when other processes keep at least this share of
#: one busy (busy cores rounded half up).
TAKEN_SHARE = 0.5


class CPUThreads(NamedTuple):
    """The CPU thread count of this process and why.

    Attributes:
        threads (int, optional): The count in force (chosen here, or the
            user's integer); None for torch's default.
        cpus (int): CPUs this process may run on.
        cores (int): Physical cores among them (torch's default count).
        busy_cores (float, optional): CPUs other processes kept busy over
            the sample; None when not sampled.
        seconds (float): The sample's length (0 when not sampled).
        user_setting (str, optional): ``NAME=value`` the user set; None
            when chosen here.
    """
    threads: Optional[int]
    cpus: int
    cores: int
    busy_cores: Optional[float]
    seconds: float
    user_setting: Optional[str]

    @property
    def automatic(self) -> bool:
        """Whether the count was chosen here from the load."""
        return self.user_setting is None and self.threads is not None


#: What :func:`apply_cpu_thread_defaults` found or set in this process.
_applied: Optional[CPUThreads] = None


def usable_cpus() -> List[int]:
    """The CPUs this process may run on (its affinity mask), in order."""
    try:
        return sorted(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        return list(range(os.cpu_count() or 1))


def physical_cores(cpus: List[int],
                   sysfs: str = '/sys/devices/system/cpu') -> int:
    """Physical cores among ``cpus`` (``len(cpus)`` where the topology
    cannot be read)."""
    cores = set()
    for cpu in cpus:
        topology = f'{sysfs}/cpu{cpu}/topology'
        try:
            with open(f'{topology}/physical_package_id') as f:
                package = f.read().strip()
            with open(f'{topology}/core_id') as f:
                cores.add((package, f.read().strip()))
        except OSError:
            return len(cpus)
    return len(cores) or len(cpus)


def free_threads(busy: float, cpus: int, cores: int) -> int:
    """The thread count for ``busy`` CPUs kept busy by other processes.

    Args:
        busy (float): CPUs the other processes kept busy on average.
        cpus (int): CPUs this process may run on.
        cores (int): Physical cores among them (the most threads).

    Returns:
        int: ``cpus`` less the taken ones (``busy`` rounded half up), at
        most ``cores``, at least 1.
    """
    taken = int(busy + 1 - TAKEN_SHARE)
    return max(1, min(cores, cpus - taken))


def _user_setting(environ) -> Optional[str]:
    for name in THREAD_VARIABLES:
        value = environ.get(name)
        if value is None:
            continue
        if name == 'OMP_NUM_THREADS' and value == environ.get(AUTO_VARIABLE):
            continue  # a tool's choice, inherited: not the user's
        return f'{name}={value}'
    return None


def choose_cpu_threads(environ=None,
                       seconds: float = SAMPLE_SECONDS,
                       proc: str = '/proc',
                       sysfs: str = '/sys/devices/system/cpu') -> CPUThreads:
    """The user's thread count, else the free cores over a sample.

    Args:
        environ (Mapping, optional): Defaults to ``os.environ``.
        seconds (float): The length of the CPU use sample.
        proc (str): Where ``/proc`` is.
        sysfs (str): Where ``/sys/devices/system/cpu`` is.

    Returns:
        CPUThreads: Changes nothing.
    """
    environ = os.environ if environ is None else environ
    cpus = usable_cpus()
    cores = physical_cores(cpus, sysfs)
    user = _user_setting(environ)
    if user is not None:
        value = user.split('=', 1)[1].strip()
        threads = int(value) if value.isdigit() else None
        return CPUThreads(threads, len(cpus), cores, None, 0.0, user)
    if not os.path.isfile(f'{proc}/stat'):
        return CPUThreads(None, len(cpus), cores, None, 0.0, None)
    before = sample_cpu_ticks(cpus, proc)
    time.sleep(seconds)
    busy = busy_cores(before, sample_cpu_ticks(cpus, proc), len(cpus))
    return CPUThreads(
        free_threads(busy, len(cpus), cores), len(cpus), cores, busy,
        seconds, None)


def apply_cpu_thread_defaults() -> Optional[CPUThreads]:
    """Set ``OMP_NUM_THREADS`` to the free cores unless the user set a
    thread count; once per process, and only before torch is imported
    (children inherit :data:`AUTO_VARIABLE` too, and choose again).

    Returns:
        CPUThreads, optional: What was found or set (also
        :func:`applied_cpu_threads`); None when torch was imported first
        and the user set no count.
    """
    global _applied
    if _applied is not None:
        return _applied
    if _user_setting(os.environ) is None and 'torch' in sys.modules:
        return None
    _applied = choose_cpu_threads()
    if _applied.automatic:
        os.environ['OMP_NUM_THREADS'] = str(_applied.threads)
        os.environ[AUTO_VARIABLE] = str(_applied.threads)
    return _applied


def applied_cpu_threads() -> Optional[CPUThreads]:
    """What :func:`apply_cpu_thread_defaults` found or set in this process
    (None: not called, or torch was imported first)."""
    return _applied


def describe_cpu_threads(choice: Optional[CPUThreads]) -> str:
    """One line for the log: the count, why, and how to choose another."""
    if choice is None:
        return ('CPU threads: not sized to the free cores (torch was '
                'imported before mmvis_clip)')
    if choice.user_setting is not None:
        return f'CPU threads: {choice.user_setting} (from the environment)'
    if choice.threads is None:
        return ('CPU threads: torch\'s default (the load was not measured: '
                'no /proc/stat)')
    return (f'CPU threads: {choice.threads} of {choice.cpus} CPUs '
            f'({choice.busy_cores:.1f} kept busy by other processes over '
            f'{choice.seconds:g} s); set OMP_NUM_THREADS to choose')
