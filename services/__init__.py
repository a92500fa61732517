"""mjd's services: thin adapters (Litestar controllers, Celery tasks, CLI) around ``shared``.

torch's OpenMP threads spin while they wait for each other. On a CPU shared with other work a
spinning thread holds a core its sibling needs, and every parallel region waits for the
slower one: one busy process beside a 2-thread MJD run made it about 3x slower with spinning
waits and 1.9x with passive ones, which cost nothing measurable on an idle machine (see
benchmarks/results/generator-2026-12-01-busy1.json). OpenMP reads the policy once, when
torch loads it, so it is set here, where every entry point starts; OMP_WAIT_POLICY in the
environment wins.
"""

import os

# a thread library's knob, not an mjd setting (shared.platform.settings): it stays in the
# environment
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
