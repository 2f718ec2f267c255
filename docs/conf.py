"""Sphinx configuration of stochnet's documentation (``sphinx-build -W docs docs/_build``)."""

import stochnet

project = "stochnet"
author = "the stochnet developers"
copyright = "2026, the stochnet developers"
release = stochnet.__version__
version = release

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "sphinx.ext.mathjax",
    "numpydoc",
]
autosummary_generate = True
autodoc_typehints = "none"
numpydoc_show_class_members = False
numpydoc_class_members_toctree = False
numpydoc_xref_param_type = False
nitpicky = False

templates_path = ["_templates"]
exclude_patterns = ["_build", "generated/*.inc"]
html_theme = "pydata_sphinx_theme"
html_static_path = ["_static"]
html_title = "stochnet"
html_theme_options = {
    "navigation_depth": 2,
    "show_toc_level": 2,
}


def _skip_metadata_routing(app, what, name, obj, skip, options):
    """scikit-learn's metadata-routing methods: documented by scikit-learn, whose
    glossary their docstrings refer to."""
    if name == "get_metadata_routing" or (name.startswith("set_") and name.endswith("_request")):
        return True
    return skip


def setup(app):
    app.connect("autodoc-skip-member", _skip_metadata_routing)
