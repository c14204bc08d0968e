"""What the tests and the benchmark share, kept out of both so neither depends on the other
(the benchmark must run without pytest) and out of the shipped packages.

``stack`` starts redis-server, the sandbox and the app as real processes on free loopback ports;
``forms`` reads the forms of a page the way a browser would submit them.
"""
