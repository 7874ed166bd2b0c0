"""An in-memory OpenStack for unit tests and benchmarks.

:class:`FakeClouds` stands in for :class:`geoflows.clouds.Clouds`: each
(cloud, region) pair is a :class:`FakeSite` whose ``network``, ``compute``,
``block_storage`` and ``image`` attributes answer the subset of
openstacksdk's proxies that geoflows calls, with the keyword arguments,
attribute names and exceptions of openstacksdk 4.x and the rules of the
real services where the disaster-recovery operations meet them (409 when
deleting a resource in use, a port already bound, a boot volume that is
not bootable, a backup restored where its files are not, an image id
reused...).  Volumes, snapshots, backups and images carry bytes, so that a
copy can be checked end to end.

Faults and timing can be injected per site:

* ``site.fail('create_bgpvpn', times=1)`` makes the next call raise HTTP 500
  (or the exception given);
* ``latency`` (seconds per call) and ``max_concurrent_calls`` model a remote
  API: calls beyond the cap wait for a free worker, as behind a real API's
  worker pool (see :class:`Workers`);
* ``server_build_reads``, ``storage_reads``, ``fail_builds()``,
  ``set_quota()``: see :class:`FakeSite`.

Modules: ``base`` (tables, resources, errors, instrumentation), ``data``
(sparse bytes), one module per proxy (``network`` with ``sfc``,
``compute``, ``block_storage``, ``image``), ``site`` (:class:`FakeSite`,
:class:`FakeClouds`).
"""

from geoflows.testing.fakecloud.base import _Instrumented  # noqa: F401
from geoflows.testing.fakecloud.base import FakeProxy  # noqa: F401
from geoflows.testing.fakecloud.base import FakeResource  # noqa: F401
from geoflows.testing.fakecloud.base import FakeResponse  # noqa: F401
from geoflows.testing.fakecloud.base import http_error  # noqa: F401
from geoflows.testing.fakecloud.base import new_id  # noqa: F401
from geoflows.testing.fakecloud.base import Workers  # noqa: F401
from geoflows.testing.fakecloud.block_storage import (  # noqa: F401
    FakeBlockStorage)
from geoflows.testing.fakecloud.compute import FakeCompute  # noqa: F401
from geoflows.testing.fakecloud.data import Blob  # noqa: F401
from geoflows.testing.fakecloud.image import FakeImage  # noqa: F401
from geoflows.testing.fakecloud.network import FakeNetwork  # noqa: F401
from geoflows.testing.fakecloud.site import FakeClouds  # noqa: F401
from geoflows.testing.fakecloud.site import FakeSite  # noqa: F401
