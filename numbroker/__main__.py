"""``python -m numbroker``: the command line."""

from numbroker._cli import main

main()
