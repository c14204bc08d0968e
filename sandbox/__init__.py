"""A local emulator of FlatPeak's API and Connect endpoint ("zero" generation).

Run it with ``python -m sandbox``; see ``sandbox/README.md`` for what it emulates.
"""
