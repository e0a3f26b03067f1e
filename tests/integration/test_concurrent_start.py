"""Commands started together on a new database (a worker beside the first import) all get their
tables: none fails because another one was creating the same table at that moment."""

from __future__ import annotations

import os
import subprocess
import sys
import time

from tests.benchmarks.bench_import import REPO

STARTERS = 6
START = """
import sys, time
from sixhours.bootstrap import build
from sixhours.settings import Settings
time.sleep(max(float(sys.argv[1]) - time.time(), 0))  # all at once
c = build(Settings())
c.service  # the event store's tables too
c.close()
"""


def test_processes_starting_together_on_a_new_database_all_start(env: dict[str, str]) -> None:
    at = time.time() + 3  # after every interpreter has started
    starters = [subprocess.Popen([sys.executable, "-c", START, str(at)], cwd=REPO,
                                 env={**os.environ, **env}, stderr=subprocess.PIPE, text=True)
                for _ in range(STARTERS)]
    failures = [p.communicate(timeout=120)[1] for p in starters]
    assert [p.returncode for p in starters] == [0] * STARTERS, "\n".join(failures)[-3000:]
