"""geoflows: keep network services running when an OpenStack site is lost.

The Python API for MANO systems::

    from geoflows import plan, runner

    my_plan = plan.load('plan.yaml')
    jobs = runner.Runner.from_config()
    job = jobs.start('interconnect.setup', my_plan)
    if job.state != 'SUCCESS':
        ...  # job.error says why; jobs.resume(job.id) / jobs.revert(job.id)
"""
