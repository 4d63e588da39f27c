"""Server-rendered pages (Jinja2 + htmx) in Russian and English: the base template, static files, helpers.

Other packages render their pages with ``medcity.web.render.render`` and register their templates with
``medcity.web.render.add_template_package``.
"""

from pathlib import Path

# The app mounts this folder at /static (name "static"); templates refer to files as /static/<name>.
STATIC_DIR = Path(__file__).resolve().parent / "static"
