"""``python -m streams``: the same CLI as the ``streams`` console script."""

from streams.cli import main

if __name__ == "__main__":
    main()
