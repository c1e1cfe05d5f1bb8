"""Settings of the whole test run.

``make test`` runs up to four worker processes on machines that may have two cores, each LightGBM fit using
``train.n_jobs`` OpenMP threads: threads that spin while they wait for work take the cores the other
workers need. Waiting threads sleep instead (``OMP_WAIT_POLICY=PASSIVE``, read when the OpenMP runtime
loads, before any test module imports LightGBM): four modeling test files took 187 s instead of 450 s with
spinning threads on the 2-core machine. A value set by the caller is kept.
"""

import os

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
