"""`python -m formcheck`: the command line."""

from formcheck.cli import main

main()
