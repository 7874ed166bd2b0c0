"""geoflows' Mistral actions (mistral-lib), registered as ``mistral.actions``
entry points named ``geoflows.<area>.<verb>``.

They run in the Mistral executor, with geoflows installed beside Mistral,
and read geoflows' configuration from $GEOFLOWS_CONFIG_FILE or
/etc/geoflows/geoflows.conf (doc/source/admin/mistral.rst).
"""
