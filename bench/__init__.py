"""The benchmark behind ``scripts/bench`` (``python -m bench``): load, sandbox-direct baseline,
page weight and memory, with the project's performance targets printed as PASS/FAIL lines (the
targets and their numbers are defined at the top of ``verdict.py``).

Modules: ``load`` is the asyncio customer driver (run in a process of its own; it keeps the
session cookie or, like a browser that blocks it, relies on the flow handle; with or without
think time), driving ``flows`` through a ``browser``; ``procs`` samples memory and CPU;
``weight`` measures what a browser downloads; ``stacks`` starts the target stack in its
production configuration (``devstack.stack`` for one instance, ``devstack.topology`` for nginx
in front of two, both shared with the tests; the ``BenchTarget`` adapters are the plug point);
``run`` ties the rest together with ``options``, keeps each phase's figures in ``phase``, judges
them in ``verdict`` and prints them with ``report``.
"""
