"""All geoflows options, by group (also read by oslo-config-generator)."""

from oslo_config import cfg

default_opts = [
    cfg.StrOpt('state_dir', default='~/.local/state/geoflows',
               help='Directory for geoflows\' local state: the default '
                    'SQLite state store, lock files and the master key.'),
    cfg.StrOpt('log_file',
               help='Also log to this file (INFO, or DEBUG with --debug). '
                    'Secrets are masked.'),
]

state_opts = [
    cfg.StrOpt('connection', secret=True,
               help='SQLAlchemy URL of the state store that holds jobs, '
                    'their steps and allocations, e.g. '
                    'postgresql+psycopg2://geoflows:PASSWORD@db/geoflows or '
                    'mysql+pymysql://geoflows:PASSWORD@db/geoflows. Default: '
                    'a SQLite file, geoflows.sqlite, in state_dir. Several '
                    'controllers must share a PostgreSQL or MySQL store.'),
]

# Limits on what geoflows reads from a plan (a file, the YAML text or the
# mapping given to a Mistral action, or to the Python API).  The loader
# reads the defaults from here when no configuration is loaded.
PLAN_MAX_BYTES = 8 * 1024 * 1024
PLAN_MAX_NODES = 2000000
PLAN_MAX_DEPTH = 64

plan_opts = [
    cfg.IntOpt('max_bytes', default=PLAN_MAX_BYTES, min=1024,
               help='Largest plan geoflows reads, in bytes of UTF-8 text; a '
                    'larger one is refused before it is parsed, at the '
                    'line where it passes the limit.  The default, 8 MiB, '
                    'holds about 45,000 interconnects written out in full, '
                    'or a plan of 10,000 VNFs of 800 bytes each.  Checking '
                    'a plan takes about 1 s per MiB on a 2-core machine.'),
    cfg.IntOpt('max_nodes', default=PLAN_MAX_NODES, min=1000,
               help='Largest number of values (mappings, lists, keys and '
                    'plain values) a plan may hold once its YAML aliases '
                    'are expanded.  Aliases are counted at each use '
                    'without being expanded, so that a "billion laughs" '
                    'document (a few hundred bytes of anchors and aliases '
                    'that stand for millions of values) is refused at '
                    'once, at the alias that passes the limit.  The '
                    'default, 2,000,000, is more than 8 MiB of plan text '
                    'holds without aliases (about one value per 6.5 '
                    'bytes), and four times a plan of 10,000 VNFs of 50 '
                    'values each.'),
    cfg.IntOpt('max_depth', default=PLAN_MAX_DEPTH, min=8, max=256,
               help='Deepest nesting of mappings and lists in a plan, '
                    'aliases expanded; a deeper plan is refused where it '
                    'passes the limit.  Plans nest 6 levels today (plan, '
                    'interconnects, interconnect, endpoint, networks, '
                    'network); 64 leaves room for the sections to come, '
                    'and keeps the checks far from Python\'s recursion '
                    'limit.'),
]

runner_opts = [
    cfg.IntOpt('max_parallel_units', default=128, min=1,
               help='How many units of a job (one interconnect, one VNF) '
                    'run at the same time.  For large jobs, set it above '
                    'max_parallel_calls (two to four times; a takeover '
                    'of a thousand VNFs kept its call slots busiest at '
                    'four): a unit busy saving its state between two '
                    'calls must not leave a call slot idle.'),
    cfg.IntOpt('max_parallel_calls', default=32, min=1,
               help='How many steps (each one OpenStack call or a few) run '
                    'at the same time across the units of a job, whether '
                    'in the runner\'s pool of as many threads or, for a '
                    'unit\'s lone next step, in the unit\'s own thread.'),
    cfg.DictOpt('service_call_caps',
                default={'compute': '16', 'block_storage': '16',
                         'image': '8', 'network': '32'},
                help='How many calls a controller makes at once to each '
                     'service of one site (SERVICE:N, services compute, '
                     'block_storage, image, network): a takeover of '
                     'hundreds of VNFs must not overload the DR site\'s '
                     'Nova with boots.  A service left out is bounded by '
                     'max_parallel_calls only.'),
    cfg.BoolOpt('keep_on_failure', default=False,
                help='When a job fails, keep what it created for '
                     'inspection instead of reverting it; finish the job '
                     'later with "geoflows job resume" or "job revert".'),
    cfg.FloatOpt('abort_poll_interval', default=1.0, min=0.1,
                 help='Seconds between two checks, by a running job, for an '
                      'abort request from "geoflows job abort".'),
]

clouds_opts = [
    cfg.StrOpt('config_file',
               help='clouds.yaml that defines the clouds named by plans. '
                    'Default: the openstacksdk search path '
                    '(OS_CLIENT_CONFIG_FILE, ./clouds.yaml, '
                    '~/.config/openstack/clouds.yaml, '
                    '/etc/openstack/clouds.yaml).'),
    cfg.IntOpt('api_timeout', default=60, min=1,
               help='Seconds to wait for an answer from an OpenStack API.'),
    cfg.IntOpt('connect_retries', default=2, min=0,
               help='Retries of an OpenStack API call whose connection '
                    'failed, before the step fails.'),
]

bgpvpn_opts = [
    cfg.IntOpt('route_target_asn', default=64512, min=1, max=4294967295,
               help='AS number of the route targets geoflows allocates '
                    '(ASN:value).'),
    cfg.IntOpt('route_target_first', default=1000, min=0, max=4294967295,
               help='First value of the route target pool.'),
    cfg.IntOpt('route_target_last', default=65535, min=0, max=4294967295,
               help='Last value of the route target pool.'),
]

ipsec_opts = [
    cfg.StrOpt('master_key_file',
               help='File holding the master key from which geoflows '
                    'derives pre-shared keys ("psk: {derive: true}" in a '
                    'plan). Default: master.key in state_dir, created with '
                    'mode 0600 on first use. Every controller that manages '
                    'the same interconnects needs the same key.'),
    cfg.IntOpt('active_attempts', default=30, min=1,
               help='How many times to check that a VPN service or site '
                    'connection became ACTIVE before the step fails.'),
    cfg.FloatOpt('active_interval', default=2.0, min=0,
                 help='Seconds between two of those checks.'),
]

jobboard_opts = [
    cfg.StrOpt('backend', default='redis',
               choices=[('redis', 'Redis (the default; "pip install '
                                  'redis", already required by geoflows)'),
                        ('zookeeper', 'ZooKeeper ("pip install '
                                      'geoflows[zookeeper]")'),
                        ('etcd', 'etcd v3 ("pip install geoflows[etcd]")')],
               help='Taskflow jobboard that several controllers share: '
                    'jobs are posted there and claimed by conductors.'),
    cfg.ListOpt('hosts', default=['127.0.0.1:6379'],
                help='HOST:PORT of the jobboard servers.  Redis and etcd '
                     'use the first one (with Redis Sentinel, the first '
                     'sentinel; the others are fallbacks); ZooKeeper uses '
                     'them all.'),
    cfg.StrOpt('username',
               help='User name for Redis ACLs (Redis 6 and later).'),
    cfg.StrOpt('password', secret=True,
               help='Password of the jobboard (Redis).'),
    cfg.IntOpt('redis_db', default=0, min=0,
               help='Redis database number.'),
    cfg.StrOpt('redis_sentinel',
               help='Name of the Redis Sentinel master; when set, "hosts" '
                    'lists sentinels.'),
    cfg.StrOpt('name', default='geoflows',
               help='Name of the board: the Redis key prefix, the ZooKeeper '
                    'or etcd path.  Controllers that share jobs use the same '
                    'name; separate deployments on one server, different '
                    'ones.'),
    cfg.IntOpt('claim_expiry', default=30, min=3,
               help='Seconds after which the claim of a conductor that '
                    'stopped renewing it lapses, so that another conductor '
                    'takes its jobs over.  A live conductor renews its '
                    'claims every claim_expiry/3 seconds, whatever its '
                    'steps are doing.  This is most of the time a takeover '
                    'by another conductor takes; see the deployment guide '
                    'for how to size it.  (ZooKeeper: the session timeout.)'),
    cfg.BoolOpt('submit', default=False,
                help='Make "geoflows interconnect ..." (and the other '
                     'operation commands) post their job to the jobboard '
                     'for a conductor, as "--submit" does, instead of '
                     'running it in the command\'s own process.'),
]

conductor_opts = [
    cfg.StrOpt('name', sample_default='<host name>:<process id>',
               help='Name of this conductor, recorded as the owner of the '
                    'jobs it runs and shown by "geoflows job list".  It '
                    'must be unique among running conductors.  Default: '
                    'host name and process id.'),
    cfg.IntOpt('max_jobs', default=4, min=1,
               help='How many jobs this conductor runs at the same time '
                    '(the units and calls of each are bounded by [runner]).'),
    cfg.IntOpt('max_attempts', default=3, min=1,
               help='How many times conductors start a job that does not '
                    'end (its conductor died, or the runner broke) before '
                    'they mark it FAILED with its last error and move on.'),
    cfg.FloatOpt('poll_interval', default=0.5, min=0.05,
                 help='Seconds between two looks at the jobboard when there '
                      'is no job to claim.'),
    cfg.BoolOpt('schedule', default=True,
                help='Start the scheduled syncs of the protected groups '
                     '(each group every sync_interval of its plan, once '
                     'across all conductors).'),
    cfg.FloatOpt('schedule_interval', default=5.0, min=0.1,
                 help='Seconds between two looks for syncs that are due.'),
    cfg.PortOpt('metrics_port', default=0,
                help='Serve the protection metrics (RPO per VNF, ...) to '
                     'Prometheus on this TCP port (/metrics); 0: do not '
                     'serve them.'),
    cfg.HostAddressOpt('metrics_host', default='127.0.0.1',
                       help='Address the metrics are served on.'),
]

mistral_opts = [
    cfg.URIOpt('url', schemes=['http', 'https'],
               help='Base URL of the Mistral API (e.g. '
                    'http://mistral.example.net:8989), to which a conductor '
                    'reports the outcome of a job that a Mistral action '
                    'submitted (geoflows.job.start with submit: true). '
                    'Default: the "workflowv2" endpoint in the catalog of '
                    '[mistral] cloud.'),
    cfg.StrOpt('cloud',
               help='clouds.yaml entry whose credentials authenticate those '
                    'reports to Mistral (a user allowed to update action '
                    'executions of the projects that run geoflows '
                    'workbooks).  Unset: reports carry no token, for a '
                    'Mistral with authentication disabled.'),
    cfg.IntOpt('report_attempts', default=5, min=1,
               help='How many times a conductor tries to report a job\'s '
                    'outcome to Mistral before it gives up and logs the '
                    'command that completes the action execution by hand.'),
]

hooks_opts = [
    cfg.IntOpt('output_limit', default=4096, min=256, max=1048576,
               help='Bytes of a consistency hook\'s output that geoflows '
                    'keeps in the job\'s results, logs and error messages: '
                    'the end of a command\'s output, the start of a '
                    'webhook\'s answer.  The rest is read and discarded.'),
    cfg.ListOpt('pass_env',
                default=['PATH', 'HOME', 'USER', 'LOGNAME', 'LANG', 'LC_ALL',
                         'TZ', 'TMPDIR'],
                help='Variables of the controller\'s environment that '
                     'command hooks inherit; no other variable is passed '
                     '(the hook\'s own "env", and GEOFLOWS_* variables that '
                     'describe the call, are added).  Without PATH, hooks '
                     'get /usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:'
                     '/sbin:/bin.'),
]

protection_opts = [
    cfg.IntOpt('ready_attempts', default=720, min=1,
               help='How many times a protection step checks that what it '
                    'waits for (a server ACTIVE, a volume, snapshot or '
                    'backup available, an image active) is ready before the '
                    'step fails.  With ready_interval, how long a step may '
                    'wait: 1 hour by default.'),
    cfg.FloatOpt('ready_interval', default=5.0, min=0.1,
                 help='Seconds between two of those checks.'),
    cfg.IntOpt('max_copies_per_site', default=4, min=1,
               help='How many data copies (a volume\'s snapshot and its '
                    'backup or image) a controller makes at once at one '
                    'site, so that protection never overloads a primary\'s '
                    'storage: the VNFs beyond wait, before their quiesce '
                    'window.  (Per controller process.)'),
    cfg.IntOpt('fence_timeout', default=60, min=1,
               help='Seconds a disaster takeover gives the primary to answer '
                    'when it fences it (its protected servers stopped, their '
                    'ports taken down, its networks removed from the '
                    'interconnect); past that the group is recorded "not '
                    'fenced" and the takeover goes on.'),
    cfg.IntOpt('drain_time', default=10, min=0, max=3600,
               help='Seconds a failback gives each VNF at the DR site to '
                    'drain before it leaves its service chains: without a '
                    'drain hook, the time it waits; with one, how long the '
                    'hook is asked again until it says "drained" (then '
                    'the VNF stays in its chains and the DR site serves '
                    'on).  "geoflows failback --drain-time" overrides it '
                    'per job.'),
    cfg.IntOpt('drill_max_keep', default=86400, min=60,
               max=30 * 86400,
               help='Seconds a drill\'s isolated copy kept for a look '
                    '("geoflows drill --keep") may live, at most: past '
                    'that, the conductors that run the schedule remove it '
                    '(a "drill.cleanup" job).  "--keep-for" asks for less. '
                    'A drill\'s copy takes the DR site\'s capacity that a '
                    'takeover would need.'),
    cfg.StrOpt('work_dir',
               help='Directory for the data of images in transit between '
                    'two sites\' Glance (each image is downloaded there, '
                    'then uploaded; as large as the largest image), also '
                    'the images of volumes that the image replication '
                    'method copies (one per copy in flight, sparse).  '
                    'Default: the system\'s temporary directory.'),
]

GROUPS = [
    (None, default_opts),
    ('state', state_opts),
    ('runner', runner_opts),
    ('plan', plan_opts),
    ('jobboard', jobboard_opts),
    ('conductor', conductor_opts),
    ('mistral', mistral_opts),
    ('hooks', hooks_opts),
    ('protection', protection_opts),
    ('clouds', clouds_opts),
    ('bgpvpn', bgpvpn_opts),
    ('ipsec', ipsec_opts),
]


def register(conf):
    for group, options in GROUPS:
        conf.register_opts(options, group=group)


def list_opts():
    """For oslo-config-generator (namespace "geoflows")."""
    return [('DEFAULT' if group is None else group, options)
            for group, options in GROUPS]
