"""The playground: a page to watch and steer the lab's network as it learns, served on loopback.

``create_app()`` is the ASGI app (Starlette); ``server.serve()`` runs it with uvicorn; ``static/`` holds the page
(plain HTML, JavaScript and canvas: no build step, nothing fetched from outside the machine).
"""

from mlplab.playground.app import create_app

__all__ = ["create_app"]
