"""The benchmark behind ``scripts/bench`` (``python -m bench``): load, sandbox-direct baseline,
page weight and memory, with the issue's targets printed as PASS/FAIL lines.

Modules: ``stack`` starts and stops redis-server, the sandbox and the app (both under gunicorn);
``load`` is the asyncio customer driver (run in a process of its own); ``procs`` samples memory;
``weight`` measures what a browser downloads; ``run`` ties them together and prints.
"""
