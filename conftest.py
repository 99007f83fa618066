"""Settings for every test run, the notebooks under nbval included.

The kernels nbval starts inherit this environment, so the chapters run with the CPU
preset, one thread, no progress bars and no live widgets (PTM_STATIC=1): the same settings that produced the outputs
committed with the notebooks (scripts/execute_notebooks.py).
"""

import os

BOOK_ENV = {"PTM_SCALE": "cpu", "PTM_THREADS": "1", "PTM_PROGRESS": "0", "PTM_DEVICE": "cpu", "PTM_STATIC": "1"}
for key, value in BOOK_ENV.items():
    os.environ.setdefault(key, value)
