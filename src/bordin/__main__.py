"""``python -m bordin`` runs the command line."""

from bordin.cli.main import main

main()
