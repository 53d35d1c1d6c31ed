"""Server-rendered pages of the web service: the client's form and the clinicians' dashboard.

Jinja2 templates and static files (CSS, a little JavaScript) live inside this package and
are served by the app itself: nothing is loaded from anywhere else. Every page has a JSON
twin (``?format=json``) with the same context, so tests check data rather than markup.
:func:`register_pages` adds the routes to an app made by :func:`bordin.web.create_app`.
"""

from bordin.web.pages._app import register_pages

__all__ = ["register_pages"]
