"""Errors a user can cause. The CLI prints each as one line and exits with its ``exit_code``."""

from __future__ import annotations


class MlplabError(Exception):
    """A problem with the user's input or settings: shown as one line, never as a traceback."""

    exit_code = 2


class DataError(MlplabError, ValueError):
    """A data file or array that cannot be used; the message names the file, line or value."""


class ConfigError(MlplabError, ValueError):
    """A setting (flag, parameter) with a value outside its domain."""


class ModelFileError(MlplabError, ValueError):
    """A model or checkpoint file that is missing, inconsistent or hostile."""


class TrainingDiverged(MlplabError, FloatingPointError):
    """The training loss became NaN or infinite."""

    exit_code = 1
