"""Pages for the people who enrol (and the shared layout the staff console extends)."""

import hashlib
from functools import lru_cache

from flask import Flask, url_for


def init_app(app: Flask) -> None:
    """Register the pages, their error pages and what every template may use."""
    from . import dev_mail, individual, intakes, link_again, presenters, statements, words  # noqa: F401  (their routes join the pages' blueprint)
    from .errors import error_page
    from .views import STATIC_DIR, bp

    app.register_blueprint(bp)
    dev_mail.init_app(app)  # /dev/mail: only in development with mail written to files
    app.extensions["error_page"] = error_page

    @lru_cache(maxsize=16)
    def _version(filename: str) -> str:
        return hashlib.sha256((STATIC_DIR / filename).read_bytes()).hexdigest()[:10]

    @app.context_processor
    def _page_context():
        return {
            "clinic": presenters.clinic(),
            # The words the pages' scripts show, in the page's language (base.html's #page-words).
            "page_words": words.page_words,
            # ?v= changes when the file does, so browsers may keep it for an hour without going stale.
            "static_url": lambda filename: url_for("pages.static", filename=filename, v=_version(filename)),
        }
