"""Process-wide settings for a process that runs large jobs.

A job of thousands of units keeps tens of thousands of objects alive (flow
details, steps, results) and makes many short-lived ones.  With CPython's
default settings the cyclic garbage collector then scans the whole heap
every few seconds, a pause of every thread during which no call is issued:
at 10,000 units, 57 full collections, 8.8 s in all, up to 0.25 s each.
Two settings avoid most of it:

* what exists after start-up (modules, classes, configuration) is frozen
  out of the collector, so that collections stop scanning it again;
* the youngest generation is collected every 10,000 allocations rather
  than 700, so that fewer short-lived objects survive into the older
  generations, whose collections are the long ones.

geoflows' own processes (the ``geoflows`` commands that run a job, the
benchmark) call :func:`tune_for_large_jobs` once, after start-up (it costs
about 40 ms); a MANO process that runs large jobs through the library may
do the same.
"""

import gc

YOUNG_GENERATION_THRESHOLD = 10000

_tuned = False


def tune_for_large_jobs():
    """Freeze what exists now out of the collector; collect less often."""
    global _tuned
    if _tuned:
        return
    _tuned = True
    gc.collect()
    gc.freeze()
    _, older, oldest = gc.get_threshold()
    gc.set_threshold(YOUNG_GENERATION_THRESHOLD, older, oldest)
