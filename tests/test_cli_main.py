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


def test_a_gpu_out_of_memory_is_a_one_line_error_naming_the_cpu(monkeypatch, capsys):
    import torch

    import emostudio.cli.generate as generate_cmd

    def out_of_memory(args):
        raise torch.OutOfMemoryError("CUDA out of memory. Tried to allocate 2.00 GiB\nmore")

    monkeypatch.setattr(generate_cmd, "run", out_of_memory)
    assert cli_main.main(["generate", "--out", "x.mid"]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert err.startswith("emostudio generate: error: the GPU ran out of memory (CUDA out of")
    assert "--device cpu" in err


def test_other_runtime_errors_are_not_called_out_of_memory(monkeypatch):
    import emostudio.cli.generate as generate_cmd

    def broken(args):
        raise RuntimeError("something else")

    monkeypatch.setattr(generate_cmd, "run", broken)
    with pytest.raises(RuntimeError, match="something else"):
        cli_main.main(["generate", "--out", "x.mid"])


def test_every_listed_command_has_help(capsys):
    for name in cli_main.COMMANDS:
        with pytest.raises(SystemExit) as exit_info:
            cli_main.main([name, "--help"])
        assert exit_info.value.code == 0
        assert name in capsys.readouterr().out


def test_building_the_parser_does_not_load_torch():
    import subprocess
    import sys

    code = "import sys; from emostudio.cli.main import build_parser; build_parser(); print('torch' in sys.modules)"
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout
    assert out.strip() == "False"


def test_evaluate_takes_the_latent_draws_into_its_decoding_settings():
    from emostudio.cli.generate import decoding_settings
    from emostudio.cli.main import CommandError, build_parser
    from emostudio.decoding import DEFAULT_LATENT_DRAWS

    parser = build_parser()
    args = parser.parse_args(["evaluate", "--data", "d", "--out", "o"])
    assert decoding_settings(args).latent_draws == DEFAULT_LATENT_DRAWS
    args = parser.parse_args(["evaluate", "--data", "d", "--out", "o", "--latent-draws", "3"])
    assert decoding_settings(args).latent_draws == 3
    args = parser.parse_args(["evaluate", "--data", "d", "--out", "o", "--latent-draws", "0"])
    with pytest.raises(CommandError, match="latent draws"):
        decoding_settings(args)


@pytest.mark.parametrize(
    "command, words, attribute",
    [
        ("generate", ["--emotion", "-0.5,0.3"], "emotion"),
        ("generate", ["-e", "-0.5,-0.3"], "emotion"),
        ("transfer", ["in.mid", "--to", "-0.62, -0.55"], "to"),
        ("continue", ["in.mid", "--bars", "4", "--emotion", "-.5,.2"], "emotion"),
    ],
)
def test_an_emotion_with_negative_valence_is_taken_as_the_option_s_value(
    monkeypatch, command, words, attribute
):
    import importlib

    module = importlib.import_module(
        f"emostudio.cli.{'continue_piece' if command == 'continue' else command}"
    )
    seen = {}

    def run(args):
        seen["value"] = getattr(args, attribute)
        return 0

    monkeypatch.setattr(module, "run", run)
    assert cli_main.main([command, *words, "--out", "x.mid"]) == 0
    assert seen["value"] == words[-1]  # argparse refused it before ("expected one argument")


def test_only_a_pair_after_an_option_is_attached():
    attach = cli_main.attach_negative_pairs
    assert attach(["--to=-1,1", "-v"]) == ["--to=-1,1", "-v"]
    assert attach(["--", "-1,1"]) == ["--", "-1,1"]
    assert attach(["--bars", "-3"]) == ["--bars", "-3"]  # a plain number argparse takes itself
    assert attach(["--to", "-1,1", "--strength", "0.5"]) == ["--to=-1,1", "--strength", "0.5"]
