"""Memory of the gunicorn processes, sampled once a second while a phase runs.

RSS (``VmRSS`` from ``/proc/<pid>/status``) of the master and of each worker. Growth compares
the workers' total in the first and the last 20 s of the run (the mean of each window's samples,
so one sample caught mid-request does not decide it); runs shorter than 60 s use their first and
last thirds. A worker that gunicorn replaced during the run is reported, since a fresh worker
would hide growth (the benchmark turns ``max_requests`` recycling off for that reason).
"""

from __future__ import annotations

import os
import resource
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

from devstack.stack import child_pids

_TICKS = os.sysconf("SC_CLK_TCK")

WINDOW = 20.0


def rss_kb(pid: int) -> int | None:
    """Resident memory of one process (``VmRSS``), or None once it is gone."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    except OSError:
        return None
    return None


@dataclass
class Sample:
    at: float  # seconds since sampling started
    master: int  # kB, every master's together (several app instances behind nginx)
    workers: dict[int, int]  # pid -> kB

    @property
    def workers_total(self) -> int:
        return sum(self.workers.values())


@dataclass
class MemoryTrace:
    master_pids: list[int]
    samples: list[Sample] = field(default_factory=list)

    def window(self, seconds: float) -> float:
        return min(WINDOW, seconds / 3) if seconds < 3 * WINDOW else WINDOW

    def growth(self, skip: float = 0.0) -> tuple[float, float, float] | None:
        """(mean kB of the first window, mean kB of the last window, growth as a share).

        ``skip``: seconds of warm-up left out (think-time customers arrive over a ramp as long
        as a flow, and workers grow with the load until it is all there: not a leak)."""
        samples = [s for s in self.samples if s.at - self.samples[0].at >= skip] if skip else []
        samples = samples if len(samples) >= 3 else self.samples
        if len(samples) < 3:
            return None
        span = samples[-1].at - samples[0].at
        width = self.window(span)
        first = [s.workers_total for s in samples if s.at - samples[0].at <= width]
        last = [s.workers_total for s in samples if samples[-1].at - s.at <= width]
        before, after = sum(first) / len(first), sum(last) / len(last)
        return before, after, (after - before) / before if before else 0.0

    def replaced_workers(self) -> int:
        seen = [set(s.workers) for s in self.samples]
        if not seen:
            return 0
        return len(set().union(*seen) - seen[0])


class Sampler:
    """A daemon thread reading RSS every ``interval`` seconds until stopped: one gunicorn
    master and its workers, or several (the instances of a topology) summed."""

    def __init__(self, master_pids: int | list[int], interval: float = 1.0) -> None:
        pids = [master_pids] if isinstance(master_pids, int) else list(master_pids)
        self.trace = MemoryTrace(pids)
        self.interval = interval
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._began = 0.0

    def sample(self) -> Sample:
        masters = self.trace.master_pids
        workers = {pid: rss_kb(pid) or 0 for master in masters for pid in child_pids(master)}
        master = sum(rss_kb(pid) or 0 for pid in masters)
        return Sample(time.monotonic() - self._began, master, workers)

    def _run(self) -> None:
        while not self._stop.is_set():
            self.trace.samples.append(self.sample())
            self._stop.wait(self.interval)

    def __enter__(self) -> Sampler:
        self._began = time.monotonic()
        self._thread.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self._stop.set()
        self._thread.join(timeout=5)
        self.trace.samples.append(self.sample())


def cpu_seconds(pid: int) -> float:
    """User + system CPU of one process so far (0 when it is gone)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / _TICKS  # utime, stime


def tree_cpu_seconds(pid: int) -> float:
    """A gunicorn master, its current workers, and the workers it has already reaped (their
    CPU is in the master's cutime and cstime), so a replaced worker does not vanish from the
    sum."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        reaped = (int(fields[13]) + int(fields[14])) / _TICKS  # cutime, cstime
    except OSError:
        reaped = 0.0
    return cpu_seconds(pid) + reaped + sum(cpu_seconds(child) for child in child_pids(pid))


def machine_busy_seconds() -> float:
    """CPU seconds every core of the machine has spent busy so far (``/proc/stat``): what the
    benchmark's processes spent, plus whatever else runs on the machine."""
    try:
        fields = Path("/proc/stat").read_text().splitlines()[0].split()[1:]
    except OSError:
        return 0.0
    user, nice, system, _idle, _iowait, irq, softirq, steal = (int(v) for v in fields[:8])
    return (user + nice + system + irq + softirq + steal) / _TICKS


class LogWindow:
    """What some log files gained between ``__enter__`` and ``__exit__`` (a phase's lines)."""

    def __init__(self, paths: list[Path]) -> None:
        self.paths = paths
        self.text = ""
        self._offsets: dict[Path, int] = {}

    def __enter__(self) -> LogWindow:
        self._offsets = {path: path.stat().st_size if path.exists() else 0 for path in self.paths}
        return self

    def __exit__(self, *_exc: object) -> None:
        parts = []
        for path, offset in self._offsets.items():
            with path.open("rb") as file:
                file.seek(offset)
                parts.append(file.read().decode(errors="replace"))
        self.text = "".join(parts)


def children_cpu_seconds() -> float:
    """CPU of the child processes this one has waited for (the driver)."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


class CpuMeter:
    """CPU seconds each part of the stack spent during a phase: where a flow's cost goes.

    A label may name several processes (every app instance of a topology), summed."""

    def __init__(self, pids: dict[str, list[tuple[int, bool]]]) -> None:
        self.pids = pids  # label -> [(pid, whether it is a master whose children count)]
        self.spent: dict[str, float] = {}
        self._start: dict[str, float] = {}
        # Every core's busy seconds meanwhile: more than ``spent`` adds up to when other work
        # shares the machine (other people's tests), which makes the phase's timings noisy.
        self.machine = 0.0
        self._machine_start = 0.0

    def _read(self) -> dict[str, float]:
        now = {
            label: sum(tree_cpu_seconds(pid) if tree else cpu_seconds(pid) for pid, tree in group)
            for label, group in self.pids.items()
        }
        now["driver"] = children_cpu_seconds()
        return now

    def __enter__(self) -> CpuMeter:
        self._start = self._read()
        self._machine_start = machine_busy_seconds()
        return self

    def __exit__(self, *_exc: object) -> None:
        end = self._read()
        self.machine = machine_busy_seconds() - self._machine_start
        self.spent = {label: end[label] - self._start[label] for label in end}
