"""An in-memory OpenStack for unit tests and benchmarks.

:class:`FakeClouds` stands in for :class:`geoflows.clouds.Clouds`: each
(cloud, region) pair is a :class:`FakeSite` whose ``network`` attribute
answers the subset of openstacksdk's network proxy that geoflows calls, with
Neutron's rules where they matter (409 when deleting a resource in use, 400
for a VPN service on a router without gateway, ...).

Faults and timing can be injected per site:

* ``site.fail('create_bgpvpn', times=1)`` makes the next call raise HTTP 500
  (or the exception given);
* ``latency`` (seconds per call) and ``max_concurrent_calls`` model a remote
  API: calls beyond the cap wait for a free worker, as behind a real API's
  worker pool (see :class:`Workers`).

Modules: ``base`` (tables, resources, errors, instrumentation), one module
per proxy (``network``), ``site`` (:class:`FakeSite`, :class:`FakeClouds`).
"""

from geoflows.testing.fakecloud.base import _Instrumented  # noqa: F401
from geoflows.testing.fakecloud.base import FakeProxy  # noqa: F401
from geoflows.testing.fakecloud.base import FakeResource  # noqa: F401
from geoflows.testing.fakecloud.base import FakeResponse  # noqa: F401
from geoflows.testing.fakecloud.base import http_error  # noqa: F401
from geoflows.testing.fakecloud.base import new_id  # noqa: F401
from geoflows.testing.fakecloud.base import Workers  # noqa: F401
from geoflows.testing.fakecloud.network import FakeNetwork  # noqa: F401
from geoflows.testing.fakecloud.site import FakeClouds  # noqa: F401
from geoflows.testing.fakecloud.site import FakeSite  # noqa: F401
