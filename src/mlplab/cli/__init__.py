"""The ``mlplab`` command. Every user error ends as one line on stderr and exit code 2, never a traceback."""

from __future__ import annotations

import sys

import click

from mlplab import __version__
from mlplab.cli.data import data_cmd
from mlplab.cli.environment import debug
from mlplab.cli.experiments import experiment_cmd, report_cmd
from mlplab.cli.export import export_cmd
from mlplab.cli.gradcheck import gradcheck_cmd
from mlplab.cli.model import evaluate_cmd, predict_cmd
from mlplab.cli.playground import playground_cmd
from mlplab.cli.train import train_cmd
from mlplab.errors import MlplabError


@click.group(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.version_option(__version__, prog_name="mlplab")
def cli() -> None:
    """mlplab: multilayer perceptrons with hand-derived backpropagation.

    Train the lab's network (`mlplab train`), check its gradients (`mlplab gradcheck`), and more:
    run `mlplab COMMAND --help` for each command's flags.
    """


cli.add_command(train_cmd)
cli.add_command(gradcheck_cmd)
cli.add_command(evaluate_cmd)
cli.add_command(predict_cmd)
cli.add_command(data_cmd)
cli.add_command(experiment_cmd)
cli.add_command(report_cmd)
cli.add_command(export_cmd)
cli.add_command(playground_cmd)


def _one_line(text: str) -> str:
    return " ".join(str(text).split())


def main(argv: list[str] | None = None) -> int:
    """Entry point: run the command, turn user errors into one line and an exit code."""
    try:
        rv = cli.main(args=argv, prog_name="mlplab", standalone_mode=False)
    except click.exceptions.Exit as e:
        return e.exit_code
    except click.exceptions.Abort:
        print("mlplab: aborted", file=sys.stderr)
        return 130
    except click.ClickException as e:
        print(f"mlplab: error: {_one_line(e.format_message())}", file=sys.stderr)
        return 2
    except MlplabError as e:
        print(f"mlplab: error: {_one_line(str(e))}", file=sys.stderr)
        return e.exit_code
    except OSError as e:
        where = f": {e.filename}" if e.filename else ""
        print(f"mlplab: error: {_one_line(e.strerror or str(e))}{where}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("mlplab: interrupted", file=sys.stderr)
        return 130
    except Exception as e:  # a bug in mlplab itself: still one line unless debugging
        if debug():
            raise
        print(f"mlplab: internal error: {type(e).__name__}: {_one_line(str(e))} "
              "(set MLPLAB_DEBUG=1 for the traceback)", file=sys.stderr)
        return 1
    return rv if isinstance(rv, int) else 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
