import pytest

from emostudio.cli import main as cli_main


def test_no_subcommand_starts_the_app_and_keeps_global_options(monkeypatch):
    import emostudio.cli.app as app_cmd

    seen = {}

    def fake_run(args):
        seen["command"], seen["verbose"] = args.command, args.verbose
        return 0

    monkeypatch.setattr(app_cmd, "run", fake_run)
    assert cli_main.main(["-v"]) == 0
    assert seen == {"command": "app", "verbose": True}


def test_every_listed_command_has_help(capsys):
    for name in cli_main.COMMANDS:
        with pytest.raises(SystemExit) as exit_info:
            cli_main.main([name, "--help"])
        assert exit_info.value.code == 0
        assert name in capsys.readouterr().out
