"""What a benchmark run is asked to do: the command's options (``Options``) and the servers'
(``StackOptions``), with ``scripts/bench``'s defaults; ``bench.run.parse_args`` fills them from
the command line."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

from bench.browser import SESSION_MODES
from bench.load import default_ramp
from devstack.stack import Gunicorn


@dataclass
class StackOptions:
    workers: int = int(os.environ.get("WEB_CONCURRENCY", 2))
    threads: int = int(os.environ.get("GUNICORN_THREADS", 8))
    # 0: no recycling during the run, so memory growth is measured rather than hidden by
    # gunicorn restarting workers (production keeps its max_requests safety net).
    max_requests: int = 0
    # What gunicorn serves; another module only to measure a variant of the app (experiments).
    app_module: str = os.environ.get("BENCH_WSGI_APP", "wsgi:app")

    def gunicorn(self) -> Gunicorn:
        return Gunicorn(self.workers, self.threads, max_requests=self.max_requests)


@dataclass
class Options:
    customers: int = 200
    duration: float = 60.0
    ramp: float | None = None  # None: bench.load.default_ramp (1 s, or one flow with think time)
    phases: tuple[str, ...] = ("app", "direct")
    weigh: bool = True
    stack: StackOptions = field(default_factory=StackOptions)
    keep_logs: Path | None = None
    sessions: tuple[str, ...] = SESSION_MODES  # the app phase once for each
    think: tuple[float, float] | None = None  # seconds between steps; None: saturation
    seed: int = 1
    # Which stacks to run the app phases on, in turn: "single" (devstack.stack.Stack) and
    # "topology" (nginx in front of TOPOLOGY_APPS instances, devstack.topology).
    stacks: tuple[str, ...] = ("single",)
    # The topology's Redis: "ha" (primary, replica, three Sentinels, as deploy/ ships it) or
    # "single" (one append-only redis-server: what the Sentinel client costs, by difference).
    topology_redis: str = "ha"
    # Seconds of unmeasured load on each stack before its first phase: fresh workers compile
    # templates, fill caches and open pools on their first requests, which made whichever
    # phase ran first look slower and its memory look like it grew.
    warmup: float = 5.0

    @property
    def effective_ramp(self) -> float:
        return self.ramp if self.ramp is not None else default_ramp(self.think)
