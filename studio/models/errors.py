"""Errors of the model layer."""
from studio.errors import StudioError


class ModelError(StudioError):
    """A model file that is missing, corrupt or does not match its card; the message names the file."""
