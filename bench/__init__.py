"""The benchmark behind ``scripts/bench`` (``python -m bench``): load, sandbox-direct baseline,
page weight and memory, with the project's performance targets printed as PASS/FAIL lines (the
targets and their numbers are defined at the top of ``run.py``).

Modules: ``load`` is the asyncio customer driver (run in a process of its own); ``procs``
samples memory and CPU; ``weight`` measures what a browser downloads; ``run`` starts the stack
in its production configuration (``devstack.stack``, shared with the tests), ties the rest
together and prints.
"""
