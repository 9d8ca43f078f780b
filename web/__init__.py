"""The bot's web front-ends, each an aiohttp sub-app with its own middlewares: the console
(:mod:`web.console`, also a chat platform), the intake and read API (:mod:`web.api`) and the
citizen's page (:mod:`web.citizen`). Every HTML page comes from an autoescaping Jinja2 template
in ``templates/``; the queries they need live in ``store/queries/``."""
