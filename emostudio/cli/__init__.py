"""The ``emostudio`` command: one module per subcommand, each with ``register(subparsers)``.

With no subcommand the desktop app starts. Subcommand modules are listed in
:data:`emostudio.cli.main.COMMANDS` and imported lazily, so ``emostudio tokens`` never loads torch.
"""
