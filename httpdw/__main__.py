"""`python -m httpdw` is the same as the `httpdw` command."""
from httpdw.cli import main

if __name__ == "__main__":
    main()
