"""What a run measured: each phase's driver output and the statistics read from it (``Phase``),
and the whole run's (``Report``), which the verdict judges and the report prints."""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass, field
from typing import Any

from bench import weight
from bench.options import Options
from bench.procs import MemoryTrace


def percentile(values: list[float], share: float) -> float:
    """Nearest rank: a value that really occurred."""
    ordered = sorted(values)
    if not ordered:
        return 0.0
    rank = max(1, int(-(-share * len(ordered) // 1)))
    return ordered[min(rank, len(ordered)) - 1]


@dataclass
class Phase:
    target: str  # app or direct
    raw: dict[str, Any]
    memory: MemoryTrace | None = None
    cpu: dict[str, float] = field(default_factory=dict)  # CPU seconds per process group
    stack: str = "single"  # which BenchTarget it ran on
    session: str | None = None  # the app's: cookie or handle
    machine_cpu: float = 0.0  # every core's busy seconds during the phase, ours and others'
    # From the app's own logs during the phase: each request's time inside gunicorn (its
    # access log's %(M)s) and each call to FlatPeak (the sandbox) as the app timed it.
    app_seconds: list[float] = field(default_factory=list)
    upstream_seconds: list[float] = field(default_factory=list)

    @property
    def label(self) -> str:
        if self.target == "direct":
            return "sandbox-direct"
        where = "" if self.stack == "single" else f"{self.stack} "
        return f"{where}app {self.session}"

    @property
    def cookie_requests(self) -> tuple[int, int]:
        """(requests that carried the session cookie, those whose answer refreshed it)."""
        return sum(self.raw["cookie_sent"].values()), sum(self.raw["cookie_renewed"].values())

    @property
    def duration(self) -> float:
        return float(self.raw["duration"])

    @property
    def completed_in_window(self) -> int:
        return sum(1 for end in self.raw["flow_ends"] if end <= self.duration)

    @property
    def completed(self) -> int:
        return len(self.raw["flow_ends"])

    @property
    def flows_per_second(self) -> float:
        return self.completed_in_window / self.duration

    @property
    def failed(self) -> int:
        return sum(self.raw["failures"].values())

    def latencies(self, kinds: tuple[str, ...] | None = None) -> list[float]:
        return [s for kind, _status, s in self.raw["requests"] if kinds is None or kind in kinds]

    def by_kind(self) -> dict[str, list[float]]:
        grouped: dict[str, list[float]] = defaultdict(list)
        for kind, _status, seconds in self.raw["requests"]:
            grouped[kind].append(seconds)
        if self.target == "direct":
            # The app's SAVE includes the exchange; pair them per flow for the comparison.
            saves, exchanges = grouped.get("save", []), grouped.get("exchange", [])
            grouped["save+exchange"] = [a + b for a, b in zip(saves, exchanges, strict=False)]
        return grouped

    def statuses(self) -> tuple[Counter[str], Counter[str]]:
        """(5xx by kind and status, other unexpected statuses by kind and status)."""
        server, other = Counter(), Counter()
        for kind, status, _seconds in self.raw["requests"]:
            # Whole-page loads may redirect: the entry to the flow, the callback to the done page.
            expected = (200, 303) if kind in ("entry", "show", "callback", "done") else (200,)
            if status >= 500:
                server[f"{kind} {status}"] += 1
            elif status not in expected:
                other[f"{kind} {status}"] += 1
        return server, other


@dataclass
class Report:
    options: Options
    phases: dict[str, Phase] = field(default_factory=dict)  # by Phase.label, in run order
    first_visit: list[weight.Item] = field(default_factory=list)
    uncounted: list[str] = field(default_factory=list)
    fragments: list[weight.Item] = field(default_factory=list)
    app_rss_start: dict[str, int | None] = field(default_factory=dict)
    app_rss_end: dict[str, int | None] = field(default_factory=dict)
    log_problems: Counter[str] = field(default_factory=Counter)
    # (True: PASS, False: FAIL, None: not judged at this scale; the line)
    targets: list[tuple[bool | None, str]] = field(default_factory=list)
    stacks: dict[str, str] = field(default_factory=dict)  # name -> description

    @property
    def passed(self) -> bool:
        return all(ok is not False for ok, _line in self.targets)

    def app_phases(self) -> list[Phase]:
        return [phase for phase in self.phases.values() if phase.target == "app"]


def warm_up(phase: Phase) -> float:
    """Seconds of a phase's start that memory growth leaves out: the ramp, with think time
    (the load is still arriving); none at saturation (full load within a second)."""
    return float(phase.raw.get("ramp") or 0.0) if phase.raw.get("think") else 0.0


def production_phase(report: Report) -> Phase | None:
    """The single instance's app phase on the path most customers take (the cookie), else the
    first app phase: the one compared with sandbox-direct."""
    apps = [phase for phase in report.app_phases() if phase.stack == "single"]
    return next((p for p in apps if p.session == "cookie"), apps[0] if apps else None)
