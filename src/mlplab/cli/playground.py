"""``mlplab playground``: the live, steerable network in the browser (needs the ``playground`` extra)."""

from __future__ import annotations

import contextlib

import click

from mlplab.errors import ConfigError


@click.command("playground")
@click.option("--host", default="127.0.0.1", show_default=True,
              help="Address to listen on (loopback by default: only this machine can open the page).")
@click.option("--port", type=click.IntRange(0, 65535), default=8000, show_default=True,
              help="TCP port (0: any free port).")
@click.option("--no-browser", is_flag=True, help="Do not open a browser; just print the URL.")
@click.option("--max-sessions", type=click.IntRange(1, 1000), default=16, show_default=True,
              help="Pages (tabs) served at once; each has its own network.")
@click.option("--idle-timeout", type=click.FloatRange(min=1), default=1800, show_default=True,
              help="Seconds without any action after which a page's session is freed.")
def playground_cmd(host: str, port: int, no_browser: bool, max_sessions: int, idle_timeout: float) -> None:
    """Serve the playground: watch and steer a network as it learns, in the browser. Ctrl-C stops it."""
    try:
        from mlplab.playground.server import serve
    except ImportError as e:
        raise ConfigError(f"the playground needs its optional dependencies ({e.name} is missing): "
                          "pip install 'mlplab[playground]'") from None

    def announce(url: str) -> None:
        click.echo(f"mlplab playground: {url}  (Ctrl-C stops it)")

    with contextlib.suppress(KeyboardInterrupt):  # Ctrl-C: uvicorn has already shut down cleanly
        serve(host, port, open_browser=not no_browser, announce=announce, max_sessions=max_sessions,
              idle_timeout=idle_timeout)
    click.echo("mlplab playground: stopped")
