"""python -m ptm_lib.pretrain: the objectives' registry, the dispatch to each objective's main, the
--help of both levels, and the command line every objective shares. (Bad command lines:
tests/test_bad_inputs_entry_points.py.)"""

import importlib
import subprocess
import sys

import pytest

from ptm_lib import pretrain
from ptm_lib.pretrain import training_parser


@pytest.mark.parametrize("objective", sorted(pretrain.OBJECTIVES))
def test_every_objective_is_a_module_with_train_and_main_in_its_all(objective):
    module = importlib.import_module(f"ptm_lib.pretrain.{objective}")
    assert callable(module.train) and callable(module.main)
    assert {"train", "main"} <= set(module.__all__) and all(hasattr(module, name) for name in module.__all__)


def test_the_package_exports_what_its_all_names():
    assert all(hasattr(pretrain, name) for name in pretrain.__all__)


def test_the_objective_named_first_gets_the_rest_of_the_command_line(monkeypatch):
    module = importlib.import_module("ptm_lib.pretrain.bert")
    seen = []
    monkeypatch.setattr(module, "main", seen.append)
    pretrain.main(["bert", "--steps", "3", "--out", "x.pt"])
    assert seen == [["--steps", "3", "--out", "x.pt"]]


def test_help_lists_the_objectives_and_each_objective_its_options(capsys):
    with pytest.raises(SystemExit) as info:
        pretrain.main(["--help"])
    out = capsys.readouterr().out
    assert info.value.code == 0 and "python -m ptm_lib.pretrain OBJECTIVE --help" in out
    assert all(f"  {name}" in out and about in out for name, about in pretrain.OBJECTIVES.items())
    with pytest.raises(SystemExit) as info:
        pretrain.main(["elmo", "--help"])
    out = capsys.readouterr().out
    assert info.value.code == 0 and out.startswith("usage: python -m ptm_lib.pretrain elmo")
    words = " ".join(out.split())  # argparse wraps the lines at the terminal's width
    assert "--min-count MIN_COUNT fewest occurrences of a word in the softmax (default: 5)" in words
    assert "for example:\n    python -m ptm_lib.pretrain elmo --steps 4000" in out


def test_python_dash_m_runs_the_package():
    done = subprocess.run([sys.executable, "-m", "ptm_lib.pretrain", "--help"], capture_output=True, text=True,
                          check=True)
    assert done.stdout.startswith("usage: python -m ptm_lib.pretrain [-h] {gpt,bert,elmo} [options]")


def test_training_parser_holds_the_shared_options_with_each_entry_points_defaults():
    parser = training_parser("python -m demo", "Demo.\n\nMore.", steps=7, seq=16, seq_help="window", d_model=8,
                             layers=3, lr=0.5)
    args = parser.parse_args(["--out", "x.pt", "--lr", "0.1"])
    assert (args.out, args.steps, args.batch_size, args.seq, args.d_model, args.layers, args.lr, args.seed,
            args.threads) == ("x.pt", 7, 32, 16, 8, 3, 0.1, 0, None)
    assert parser.description == "Demo." and parser.epilog is None
    with pytest.raises(SystemExit):  # --out is required
        parser.parse_args([])
