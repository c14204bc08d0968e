"""The benchmark behind ``scripts/bench`` (``python -m bench``): load, sandbox-direct baseline,
page weight and memory, with the project's performance targets printed as PASS/FAIL lines (the
targets and their numbers are defined at the top of ``run.py``).

Modules: ``stack`` starts and stops redis-server, the sandbox and the app (both under gunicorn);
``load`` is the asyncio customer driver (run in a process of its own); ``procs`` samples memory;
``weight`` measures what a browser downloads; ``run`` ties them together and prints.
"""
