"""svbot: helps small charities show their social value and meet monitoring deadlines."""

__version__ = "0.1.0"
