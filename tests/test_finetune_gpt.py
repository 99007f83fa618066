import pytest
import torch

from ptm_lib.finetune.gpt import (
    GPTForTask,
    Specials,
    batches,
    continuation_log_prob,
    pad,
    task_accuracy,
    task_loss,
    transform,
    zero_shot_choice,
)
from ptm_lib.models.gpt import GPT
from ptm_lib.models.transformer import TransformerConfig
from ptm_lib.train import fit

SP = Specials(pad=0, start=2, delim=3, extract=4)
V = 30


def gpt(seed=0):
    torch.manual_seed(seed)
    return GPT(TransformerConfig(vocab_size=V, max_len=24, d_model=32, n_layers=2, n_heads=4))


def test_layouts_match_figure_1():
    a, b = [10, 11, 12], [20, 21]
    assert transform("classify", SP, 16, a) == [[2, 10, 11, 12, 4]]
    assert transform("pair", SP, 16, a, b) == [[2, 10, 11, 12, 3, 20, 21, 4]]
    assert transform("similarity", SP, 16, a, b) == [[2, 10, 11, 12, 3, 20, 21, 4], [2, 20, 21, 3, 10, 11, 12, 4]]
    assert transform("choice", SP, 16, a, choices=[[5], [6, 7]]) == [[2, 10, 11, 12, 3, 5, 4],
                                                                     [2, 10, 11, 12, 3, 6, 7, 4]]


def test_long_texts_are_cut_but_keep_their_special_tokens():
    a, b = list(range(100, 120)), list(range(200, 220))
    (seq,) = transform("pair", SP, 11, a, b)
    assert len(seq) == 11 and seq[0] == 2 and seq[-1] == 4 and seq.count(3) == 1
    delim = seq.index(3)
    assert seq[1:delim] == a[:delim - 1] and seq[delim + 1:-1] == b[:len(seq) - delim - 2]  # both starts
    (choice,) = transform("choice", SP, 11, a, choices=[b])
    delim = choice.index(3)
    assert choice[1:delim] == a[-(delim - 1):]  # a context keeps its end, next to the choice
    (short,) = transform("pair", SP, 11, [7], b)
    assert short[:3] == [2, 7, 3] and len(short) == 11
    with pytest.raises(ValueError, match="larger max_len"):
        transform("pair", SP, 4, a, b)


def test_bad_requests_are_clear_errors():
    with pytest.raises(ValueError, match="Unknown task kind"):
        transform("summarise", SP, 10, [1])
    with pytest.raises(ValueError, match="needs two texts"):
        transform("pair", SP, 10, [1])
    with pytest.raises(ValueError, match="same number of sequences"):
        pad([[[1]], [[1], [2]]], 0)


def test_pad_and_mask():
    ids, mask = pad([[[5, 6, 7]], [[8]]], pad_id=0)
    assert ids.tolist() == [[[5, 6, 7]], [[8, 0, 0]]]
    assert mask.tolist() == [[[True, True, True]], [[True, False, False]]]


def test_head_reads_the_extract_token_and_ignores_padding():
    model = GPTForTask(gpt(), "classify", n_classes=3).eval()
    ids, mask = pad([transform("classify", SP, 16, [10, 11]), transform("classify", SP, 16, [12, 13, 14, 15])], 0)
    out = model(ids, mask)
    alone = model(*pad([transform("classify", SP, 16, [10, 11])], 0))
    assert out.shape == (2, 3)
    torch.testing.assert_close(out[:1], alone, atol=1e-5, rtol=0)
    ids[0, 0, -1] = 17  # a different padding token changes nothing
    torch.testing.assert_close(model(ids, mask), out, atol=1e-6, rtol=0)


def test_similarity_is_symmetric_and_choices_are_permutation_equivariant():
    sim = GPTForTask(gpt(), "similarity").eval()
    ab = sim(*pad([transform("similarity", SP, 16, [10, 11], [12])], 0))
    ba = sim(*pad([transform("similarity", SP, 16, [12], [10, 11])], 0))
    torch.testing.assert_close(ab, ba, atol=1e-5, rtol=0)
    choice = GPTForTask(gpt(), "choice").eval()
    options = [[5], [6, 7], [8, 9, 10]]
    s = choice(*pad([transform("choice", SP, 16, [11, 12], choices=options)], 0))
    r = choice(*pad([transform("choice", SP, 16, [11, 12], choices=options[::-1])], 0))
    assert s.shape == (1, 3)
    torch.testing.assert_close(s.flip(-1), r, atol=1e-5, rtol=0)


def test_auxiliary_lm_loss_adds_the_language_model_term():
    model = GPTForTask(gpt(), "pair").eval()
    ids, mask = pad([transform("pair", SP, 16, [10, 11], [12])] * 2, 0)
    labels = torch.tensor([0, 1])
    plain, both = task_loss(model, (ids, mask, labels)), task_loss(model, (ids, mask, labels), lm_weight=0.5)
    logits = model.gpt(ids[:, 0])[:, :-1]
    lm = torch.nn.functional.cross_entropy(logits.reshape(-1, V), ids[:, 0, 1:].reshape(-1))
    torch.testing.assert_close(both - plain, 0.5 * lm, atol=1e-5, rtol=0)


def test_fine_tuning_learns_a_pair_task():
    """Label 1 when the second text repeats the first: needs attention across the delimiter."""
    g = torch.Generator().manual_seed(0)
    examples, labels = [], []
    for i in range(256):
        a = torch.randint(10, V, (3,), generator=g).tolist()
        same = i % 2 == 0
        b = a if same else torch.randint(10, V, (3,), generator=g).tolist()
        examples.append(transform("pair", SP, 16, a, b))
        labels.append(int(same))
    ids, mask = pad(examples, 0)
    labels = torch.tensor(labels)
    model = GPTForTask(gpt(), "pair", dropout=0.0)
    before = task_accuracy(model, ids, mask, labels)
    fit(model, batches(ids, mask, labels, 32), task_loss, epochs=25, lr=3e-3)
    assert task_accuracy(model, ids, mask, labels) > max(0.9, before + 0.3)


def test_continuation_log_prob_matches_the_chain_rule():
    model = gpt().eval()
    prefix, options = [2, 10, 11], [[12, 13], [14], [15, 16, 17]]
    scores = continuation_log_prob(model, prefix, options)
    for option, score in zip(options, scores):
        ids = torch.tensor([prefix + option])
        logp = torch.log_softmax(model(ids[:, :-1]), -1)[0]
        expected = sum(logp[len(prefix) - 1 + i, tok] for i, tok in enumerate(option))
        torch.testing.assert_close(score, expected, atol=1e-5, rtol=0)
    with pytest.raises(ValueError, match="non-empty"):
        continuation_log_prob(model, [], options)


def test_zero_shot_choice_follows_what_the_model_learned():
    """A model trained on 'a b c d' repeatedly picks 'c d' after 'a b', whatever its position."""
    model = gpt()
    text = torch.tensor([[2, 10, 11, 12, 13] * 4] * 16)
    fit(model, [text] * 60, lambda m, b: torch.nn.functional.cross_entropy(
        m(b[:, :-1]).reshape(-1, V), b[:, 1:].reshape(-1)), steps=60, lr=3e-3)
    model.eval()
    for answer in range(3):
        choices = [[20, 21], [22, 23]]
        choices.insert(answer, [12, 13])
        assert zero_shot_choice(model, SP, [10, 11], choices, max_len=24) == answer
