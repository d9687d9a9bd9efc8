"""svbot: helps small charities show their social value and meet monitoring deadlines."""

import os

__version__ = "0.1.0"

# python-telegram-bot 22.2+ announces that time attributes (RetryAfter.retry_after, ...) become
# datetime.timedelta, and warns on each read until a program opts in with this variable (PTB reads it at
# every access). svbot reads either form (channels/telegram/sender.py), so it opts in for every run,
# tests and users' alike; a value someone set themselves wins.
os.environ.setdefault("PTB_TIMEDELTA", "true")
