"""lamp: the command-line tool of the LAMP ML serving platform."""

__version__ = "0.2.0"
