"""Errors the CLI turns into a one-line message and exit code 2."""


class PipelineError(Exception):
    """A problem with the user's config or inputs, stated in one line."""


class ConfigError(PipelineError):
    """The config file or an override is invalid."""


class InputError(PipelineError):
    """The inputs cannot be used (missing, unreadable, or nothing usable at all)."""


class WorkerCrash(PipelineError):
    """A worker process died without a Python exception: native code crashed in it (a C++
    exception, a segmentation fault) or the system killed it (out of memory)."""
