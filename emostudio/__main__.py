"""``python -m emostudio`` is the ``emostudio`` command."""

from emostudio.cli.main import main

raise SystemExit(main())
