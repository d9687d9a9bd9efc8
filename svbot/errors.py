"""Errors a person can fix themselves. The CLI prints their message as one line, never a traceback."""


class UserError(Exception):
    """Something the person running the command can fix; the message says how."""
