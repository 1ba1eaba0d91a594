"""The web dashboard: static files the gateway serves at ``/`` and ``/dashboard/*``.

Plain HTML, CSS and JavaScript modules under ``static/``, shipped with the project: no
build step, no CDN. The page reads and drives the JSON API with the caller's token.
"""
