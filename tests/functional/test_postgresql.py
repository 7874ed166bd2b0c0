"""Jobs on a PostgreSQL state store, as several controllers would share."""

import os
import signal
import subprocess
import uuid

import sqlalchemy as sa

from tests.functional import base

SERVER = 'postgresql+psycopg2://postgres@127.0.0.1:5432/%s'


class TestPostgreSQLStateStore(base.FunctionalTestCase):

    def setUp(self):
        super().setUp()
        admin = sa.create_engine(SERVER % 'postgres',
                                 isolation_level='AUTOCOMMIT')
        self.addCleanup(admin.dispose)
        database = 'geoflows_%s' % uuid.uuid4().hex[:12]
        with admin.connect() as conn:
            conn.execute(sa.text('CREATE DATABASE %s' % database))
        self.addCleanup(self.drop, admin, database)
        self.url = SERVER % database
        self.env['OS_STATE__CONNECTION'] = self.url

    @staticmethod
    def drop(admin, database):
        with admin.connect() as conn:
            conn.execute(sa.text('DROP DATABASE IF EXISTS %s WITH (FORCE)'
                                 % database))

    def test_a_killed_job_resumes_from_postgresql(self):
        plan = self.write_plan(base.BGPVPN, base.IPSEC)
        initial = self.snapshots()
        proc = subprocess.Popen(
            [base.GEOFLOWS, 'interconnect', 'setup', '--plan', plan,
             '--progress'], stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE, text=True, env=self.env)
        job_id = None
        for line in proc.stderr:
            words = line.split()
            if words[:1] == ['job'] and job_id is None:
                job_id = words[1].rstrip(':')
            if words[2:4] == ['remote.vpnservice', 'SUCCESS']:
                os.kill(proc.pid, signal.SIGKILL)
                break
        proc.wait()
        proc.stderr.close()
        self.assertEqual(-signal.SIGKILL, proc.returncode)

        # The database lock of the dead process is gone with its session.
        job = self.geoflows('job', 'show', job_id, '-f', 'json').json
        self.assertEqual('RUNNING (stale)', job['state'])
        resumed = self.geoflows('job', 'resume', job_id, '-f', 'json').json
        self.assertEqual('SUCCESS', resumed['state'])
        for cloud in ('site-a', 'site-b'):
            self.assertEqual([], self.duplicates(cloud))
        self.run_job('interconnect', 'check', '--plan', plan)
        self.run_job('interconnect', 'teardown', '--plan', plan)
        self.assertEqual(initial, self.snapshots())

        engine = sa.create_engine(self.url)
        self.addCleanup(engine.dispose)
        with engine.connect() as conn:
            states = dict(conn.execute(sa.text(
                'SELECT operation, state FROM gf_jobs')).fetchall())
            steps = conn.execute(sa.text(
                'SELECT count(*) FROM gf_steps')).scalar()
        self.assertEqual({'interconnect.setup': 'SUCCESS',
                          'interconnect.check': 'SUCCESS',
                          'interconnect.teardown': 'SUCCESS'}, states)
        self.assertGreater(steps, 100)
