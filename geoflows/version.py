"""The installed version of geoflows."""

import pbr.version

version_info = pbr.version.VersionInfo('geoflows')
version_string = version_info.version_string
