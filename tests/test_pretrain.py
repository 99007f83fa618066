import pytest
import torch

from ptm_lib.data import lm
from ptm_lib.data.bpe import train_bpe
from ptm_lib.models.gpt import GPT
from ptm_lib.models.transformer import TransformerConfig
from ptm_lib import pretrain
from ptm_lib.pretrain import load_checkpoint, save_checkpoint, stream_perplexity, token_stream

TEXTS = ["the cat sat on the mat", "the dog sat on the log", "a cat and a dog"] * 5


@pytest.fixture(scope="module")
def tokenizer():
    return train_bpe(TEXTS, vocab_size=60)


def tiny_gpt(tokenizer):
    torch.manual_seed(0)
    return GPT(TransformerConfig(vocab_size=tokenizer.vocab_size, max_len=8, d_model=16, n_layers=1, n_heads=2))


def test_checkpoint_round_trip_keeps_weights_tokenizer_and_meta(tmp_path, tokenizer):
    model = tiny_gpt(tokenizer)
    path = save_checkpoint(tmp_path / "ckpt" / "gpt.pt", model, tokenizer, {"steps": 3, "torch": torch.__version__})
    loaded, tok, meta = load_checkpoint(path)
    assert meta == {"steps": 3, "torch": str(torch.__version__)} and not loaded.training
    assert tok.encode("the cat") == tokenizer.encode("the cat")
    assert loaded.lm_head.weight is loaded.transformer.tok.weight  # still tied after loading
    ids = torch.tensor([tokenizer.encode("the dog sat on the mat")])
    with torch.no_grad():
        expected = model.eval()(ids)
        torch.testing.assert_close(loaded(ids), expected, atol=2e-2, rtol=0)  # fp16 storage
    for name, value in model.state_dict().items():
        torch.testing.assert_close(loaded.state_dict()[name], value.half().float())


def test_missing_or_foreign_checkpoint_is_a_clear_error(tmp_path):
    with pytest.raises(FileNotFoundError, match="python -m ptm_lib.pretrain gpt"):
        load_checkpoint(tmp_path / "none.pt")
    torch.save({"weights": {}}, tmp_path / "other.pt")
    with pytest.raises(ValueError, match="not a ptm-lib checkpoint"):
        load_checkpoint(tmp_path / "other.pt")


def test_stream_and_perplexity_of_an_untrained_model_is_near_vocab_size(tokenizer):
    stream = token_stream(tokenizer, TEXTS)
    assert stream.dtype == torch.long and len(stream) == sum(len(tokenizer.encode(t)) for t in TEXTS)
    model = tiny_gpt(tokenizer)
    ppl = stream_perplexity(model, lm.chunks(stream, 8))
    assert 0.7 * tokenizer.vocab_size < ppl < 1.3 * tokenizer.vocab_size
    assert model.training  # restored


def test_checkpoints_are_found_in_the_repository_and_where_pip_installs_them(tmp_path, monkeypatch):
    assert pretrain.checkpoint_path("gpt_small.pt") == pretrain.checkpoint_folders()[0] / "gpt_small.pt"
    installed = tmp_path / "share" / "ptm-lib" / "checkpoints"
    installed.mkdir(parents=True)
    (installed / "only_installed.pt").write_bytes(b"x")
    monkeypatch.setattr(pretrain.sys, "prefix", str(tmp_path))
    assert pretrain.checkpoint_path("only_installed.pt") == installed / "only_installed.pt"
    with pytest.raises(FileNotFoundError, match="python -m ptm_lib.pretrain"):
        pretrain.checkpoint_path("missing.pt")


def test_every_checkpoint_is_shipped_with_the_package():
    """pyproject's data-files must cover each file in data/checkpoints, or a pip install lacks it."""
    import fnmatch
    import tomllib
    root = pretrain.checkpoint_folders()[0].parent.parent
    patterns = tomllib.loads((root / "pyproject.toml").read_text())["tool"]["setuptools"]["data-files"]
    shipped = patterns["share/ptm-lib/checkpoints"]
    for file in (root / "data" / "checkpoints").iterdir():
        assert any(fnmatch.fnmatch(f"data/checkpoints/{file.name}", p) for p in shipped), file


def test_training_parser_holds_the_shared_options_with_each_entry_points_defaults():
    from ptm_lib.pretrain import training_parser

    parser = training_parser("python -m demo", "Demo.\n\nMore.", steps=7, seq=16, seq_help="window", d_model=8,
                             layers=3, lr=0.5)
    args = parser.parse_args(["--out", "x.pt", "--lr", "0.1"])
    assert (args.out, args.steps, args.batch_size, args.seq, args.d_model, args.layers, args.lr, args.seed,
            args.threads) == ("x.pt", 7, 32, 16, 8, 3, 0.1, 0, None)
    assert parser.description == "Demo."
    with pytest.raises(SystemExit):  # --out is required
        parser.parse_args([])
