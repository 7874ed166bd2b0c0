"""Configuration files of the minicloud's OpenStack services.

Each function returns the text of one file from a ``Region`` (see
regions.py), whose attributes name its ports, directories, databases and
RabbitMQ vhost.  Every service authenticates to the one Keystone as its own
service user (password ``SERVICE_PASSWORD``).
"""

SERVICE_PASSWORD = 'minicloud-service'

# Each process keeps a pool per database it uses (nova three of them).
# With oslo.db's defaults (5, and 50 more under load) one region pair held
# over 60 PostgreSQL connections during the smoke test: two minicloud
# instances then exhausted a default PostgreSQL (max_connections = 100).
# Requests beyond the pool wait for a connection instead.
DB_POOL = 'max_pool_size = 1\nmax_overflow = 4\n'

_AUTHTOKEN = """\
[keystone_authtoken]
www_authenticate_uri = {keystone}
auth_url = {keystone}
auth_type = password
project_domain_id = default
user_domain_id = default
project_name = service
username = {user}
password = {password}
memcached_servers =
{service_token}"""

_CLIENT = """\
[{section}]
region_name = {region_name}
auth_type = password
auth_url = {keystone}/v3
project_domain_id = default
user_domain_id = default
project_name = service
username = {user}
password = {password}
valid_interfaces = public
"""


def authtoken(region, user, service_token_roles_required=True):
    return _AUTHTOKEN.format(
        keystone=region.keystone_url, user=user, password=SERVICE_PASSWORD,
        service_token=('service_token_roles_required = true\n'
                       if service_token_roles_required else ''))


def client(region, section, user):
    return _CLIENT.format(section=section, region_name=region.name,
                          keystone=region.keystone_url, user=user,
                          password=SERVICE_PASSWORD)


def keystone(home):
    return """\
[DEFAULT]
use_stderr = true

[database]
connection = sqlite:///{home}/keystone/keystone.db

[token]
provider = fernet
expiration = 86400

[fernet_tokens]
key_repository = {home}/keystone/fernet-keys

[fernet_receipts]
key_repository = {home}/keystone/fernet-keys

[credential]
key_repository = {home}/keystone/credential-keys

[cache]
enabled = true
backend = dogpile.cache.memory

[identity]
# Every token request hashes a password: keep it cheap on a test machine.
password_hash_rounds = 4
""".format(home=home)


def placement(region):
    return """\
[DEFAULT]
use_stderr = true

[placement_database]
connection = {db}
{pool}
[api]
auth_strategy = keystone

{authtoken}""".format(db=region.db_url('placement'), pool=DB_POOL,
                      authtoken=authtoken(region, 'placement'))


def glance(region):
    d = region.dir('glance')
    return """\
[DEFAULT]
use_stderr = true
enabled_backends = fs:file
worker_self_reference_url = {url}

[database]
connection = {db}
{pool}
[glance_store]
default_backend = fs

[fs]
filesystem_store_datadir = {d}/images/

[os_glance_staging_store]
filesystem_store_datadir = {d}/staging/

[os_glance_tasks_store]
filesystem_store_datadir = {d}/tasks/

[paste_deploy]
flavor = keystone

{authtoken}""".format(url=region.url('glance'), db=region.db_url('glance'),
                      pool=DB_POOL, d=d, authtoken=authtoken(region, 'glance'))


def nova(region):
    d = region.dir('nova')
    return """\
[DEFAULT]
transport_url = {transport}
compute_driver = fake.FakeDriverWithoutFakeNodes
host = {host}
my_ip = 127.0.0.1
state_path = {d}/state
instances_path = {d}/instances
use_stderr = true

[wsgi]
api_paste_config = {d}/api-paste.ini

[api]
auth_strategy = keystone

[api_database]
connection = {api_db}
{pool}
[database]
connection = {cell1_db}
{pool}
{authtoken}
{service_user}send_service_user_token = true

{placement}
{glance}
{cinder}
{neutron}
[scheduler]
discover_hosts_in_cells_interval = 2
workers = 1

[conductor]
workers = 1

[oslo_concurrency]
lock_path = {d}/lock

[oslo_messaging_notifications]
driver = noop

[vnc]
enabled = false

[spice]
enabled = false
""".format(
        transport=region.transport_url, host=region.host('compute'), d=d,
        api_db=region.db_url('nova_api'), pool=DB_POOL,
        cell1_db=region.db_url('nova_cell1'),
        authtoken=authtoken(region, 'nova'),
        service_user=client(region, 'service_user', 'nova'),
        placement=client(region, 'placement', 'placement'),
        glance='[glance]\nregion_name = %s\nvalid_interfaces = public\n'
               % region.name,
        cinder=client(region, 'cinder', 'nova').replace(
            'region_name =', 'os_region_name ='),
        neutron=client(region, 'neutron', 'nova'))


def cinder(region, venv):
    d = region.dir('cinder')
    return """\
[DEFAULT]
transport_url = {transport}
auth_strategy = keystone
host = {host}
my_ip = 127.0.0.1
state_path = {d}/state
api_paste_config = {venv}/etc/cinder/api-paste.ini
resource_query_filters_file = {venv}/etc/cinder/resource_filters.json
use_stderr = true
enabled_backends = file
default_volume_type = __DEFAULT__
osapi_volume_workers = 1
# The scheduler knows a backend only once its volume service reports.
periodic_interval = 5
periodic_fuzzy_delay = 0
backend_stats_polling_interval = 5
glance_api_servers = {glance}
backup_driver = cinder.backup.drivers.posix.PosixBackupDriver
# One repository for both regions' cinder-backup: the stand-in for the
# store a real pair of sites shares (Swift, Ceph, NFS), so that a backup
# record exported here and imported in the other region restores there.
backup_posix_path = {backups}
backup_compression_algorithm = zstd
# enable_force_upload stays false (the default of most clouds): uploading
# an in-use volume to an image is refused; clone or snapshot it first.

[database]
connection = {db}
{pool}
[file]
volume_driver = filevolume.FileVolumeDriver
volume_backend_name = file
file_volume_dir = {volumes}

{authtoken}
{nova}
[oslo_concurrency]
lock_path = {d}/lock

[oslo_messaging_notifications]
driver = noop

[coordination]
backend_url = file://{d}/lock

# The privsep daemons: the default "sudo privsep-helper" finds no
# privsep-helper on the PATH (exit 127).  oslo.privsep appends the context
# and a socket of its own to this command.  os-brick's connects volumes;
# cinder's own (cinder.privsep.sys_admin_pctxt) inspects image formats
# before qemu-img runs (create from image, upload to a non-raw image).
[privsep_osbrick]
helper_command = {privsep_helper}

[cinder_sys_admin]
helper_command = {privsep_helper}
""".format(transport=region.transport_url, host=region.host('cinder'), d=d,
           venv=venv, glance=region.url('glance'),
           db=region.db_url('cinder'), pool=DB_POOL,
           volumes=region.volume_dir, backups=region.backup_repository,
           authtoken=authtoken(region, 'cinder'),
           nova=client(region, 'nova', 'nova'),
           privsep_helper=' '.join([
               venv + '/bin/privsep-helper', '--config-file',
               d + '/cinder.conf']))


def neutron_keystone(region):
    """What Neutron's configuration gets in a region with Keystone."""
    return '\n%s\n%s' % (
        authtoken(region, 'neutron', service_token_roles_required=False),
        client(region, 'nova', 'neutron'))
