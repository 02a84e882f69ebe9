"""The bundle's entry point (PyInstaller freezes this script): the ``emostudio`` command."""

from emostudio.cli.main import main

if __name__ == "__main__":
    raise SystemExit(main())
