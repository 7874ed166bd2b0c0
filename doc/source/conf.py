"""Sphinx configuration of the geoflows documentation."""

project = 'geoflows'
copyright = 'The geoflows developers'
author = 'The geoflows developers'

extensions = []
templates_path = []
exclude_patterns = []
master_doc = 'index'
html_theme = 'alabaster'
html_static_path = []
