"""Chapter 8, part 2: every era of the book on the same tasks and label budgets (ptm_lib.eras)."""

import json

import numpy as np
import pytest
import torch

from ptm_lib import eras

TINY = {"topic_test_per_class": 2, "pair_pool": 40, "pair_test": 6}


@pytest.fixture(scope="module")
def tiny_tasks():
    return eras.load_tasks(TINY)


def toy_task() -> eras.Task:
    """Class 0 talks of fruit, class 1 of cars: separable by any sensible word vectors."""
    fruit = ["apple pear plum", "pear apple", "plum plum apple", "apple", "pear plum"]
    cars = ["car wheel road", "road car", "wheel wheel car", "car", "road wheel"]
    examples = [((t,), 0) for t in fruit] + [((t,), 1) for t in cars]
    return eras.Task("toy", 2, examples, examples)


TOY_WORDS = ["apple", "pear", "plum", "car", "wheel", "road"]
TOY_VECTORS = np.array([[1, 0.1], [0.9, 0], [1, -0.1], [-1, 0.1], [-0.9, 0], [-1, -0.1]], dtype=np.float32)


def test_tasks_hold_their_pools_and_the_same_held_out_examples(tiny_tasks):
    topic, pair = tiny_tasks["topic"], tiny_tasks["pair"]
    assert (topic.classes, pair.classes) == (5, 2)
    assert sorted(y for _, y in topic.test) == [c for c in range(5) for _ in range(2)]
    assert len(pair.pool) == 40 and len(pair.test) == 6 and all(len(t) == 2 for t, _ in pair.pool)
    assert not {t for t, _ in pair.pool} & {t for t, _ in pair.test}
    with pytest.raises(ValueError, match="unknown tasks \\['nli'\\]"):
        eras.load_tasks(TINY, names=["nli"])
    with pytest.raises(ValueError, match="sizes \\['pair_train'\\]"):
        eras.load_tasks({"pair_train": 5})


def test_a_budget_draws_that_many_of_each_class_and_the_seed_decides_which(tiny_tasks):
    topic = tiny_tasks["topic"]
    drawn = eras.labelled(topic, 3, seed=0)
    assert sorted(y for _, y in drawn) == [c for c in range(5) for _ in range(3)]
    assert drawn == eras.labelled(topic, 3, seed=0) and drawn != eras.labelled(topic, 3, seed=1)
    assert all(example in topic.pool for example in drawn)
    with pytest.raises(ValueError, match="per_class"):
        eras.labelled(tiny_tasks["pair"], 21, seed=0)  # 40 pairs hold 20 of each label


def test_pooled_classifier_averages_real_words_and_compares_a_pair():
    torch.manual_seed(0)
    embedding = torch.nn.Embedding(10, 3)
    model = eras.PooledClassifier(2, texts=2, embedding=embedding)
    ids = torch.tensor([[[1, 2, 0], [3, 0, 0]]])
    mask = torch.tensor([[[True, True, False], [True, False, False]]])
    u, v = embedding.weight[[1, 2]].mean(0), embedding.weight[3]
    expected = model.head(torch.cat([u, v, (u - v).abs(), u * v]))
    assert torch.allclose(model(mask, ids)[0], expected)
    assert torch.allclose(model(mask, ids.masked_fill(~mask, 7)), model(mask, ids))  # padding is not read
    both = eras.PooledClassifier(5, texts=1, embedding=embedding, layers=3, layer_dim=4)
    layers = torch.randn(2, 1, 6, 3, 4)  # (B, S, T, L, D)
    ids, mask = torch.randint(10, (2, 1, 6)), torch.ones(2, 1, 6, dtype=torch.bool)
    expected = both.head(torch.cat([embedding(ids), both.mix(layers.movedim(3, 0))], -1).mean(2)[:, 0])
    assert torch.allclose(both(mask, ids, layers), expected)  # [x_k; ELMo_k], then the mean
    with pytest.raises(ValueError, match="needs word vectors"):
        eras.PooledClassifier(2, texts=1)


@pytest.mark.parametrize("fine_tuned", [False, True])
def test_word_vectors_learn_the_toy_task_frozen_or_fine_tuned(fine_tuned):
    era = eras.WordVectorEra(lambda: (TOY_VECTORS, TOY_WORDS), fine_tuned,
                             recipe={**eras.POOLED_RECIPE, "min_steps": 30})
    task = toy_task()
    before = TOY_VECTORS.copy()
    assert era.score(task, task.pool, seed=0) == 1.0
    assert np.array_equal(TOY_VECTORS, before)  # fine-tuning trains a copy: the next seed starts from the same vectors
    counts = eras._count(era.model(task, 1))
    assert counts == {"total": 12 + 6, "trained": (12 if fine_tuned else 0) + 6}  # table 6 x 2, head 2 x 2 + 2
    data = era.inputs([(("apple zebra pear",), 0)])
    assert data["ids"].tolist() == [[[0, 1]]] and data["mask"].all()  # a word without a vector is dropped
    assert era.embedding(unknown_row=True).weight[-1].abs().sum() == 0


def test_elmo_layers_are_the_frozen_bilm_computed_once_per_text(monkeypatch):
    era = eras.ELMoEra(words=eras.WordVectorEra(lambda: (TOY_VECTORS, TOY_WORDS), fine_tuned=False))
    examples = [(("the apple raised rates",), 0), (("a short one",), 1), (("the apple raised rates",), 0)]
    data = era.inputs(examples)
    x, mask, ids = data["layers"], data["mask"], data["ids"]
    assert x.shape[:4] == (3, 1, 4, 3) and mask.sum().item() == 4 + 3 + 4
    assert torch.equal(x[0], x[2]) and x[1, 0, 3:].abs().sum() == 0  # padding stays zero
    assert torch.allclose(x[0, 0, :4].norm(dim=-1), torch.ones(4, 3))  # every layer's vector at unit length
    assert ids[0, 0].tolist() == [6, 0, 6, 6]  # the biLM reads every word; one without a vector gets the zero row
    monkeypatch.setattr(eras.elmo, "embed_sentences", lambda *a, **k: pytest.fail("re-embedded a known text"))
    assert torch.equal(era.inputs(examples[:2])["layers"], x[:2])
    counts = eras.parameters(eras.Era("4", "", era, dict), toy_task())
    assert counts["trained"] == 3 + 1 + 2 * (2 + 256 + 1)  # the mix and the head only
    assert counts["total"] > 3_000_000 + counts["trained"]  # the frozen biLM counts in the total


def test_gpt_and_bert_eras_fine_tune_on_a_pair_task(tiny_tasks):
    pair = tiny_tasks["pair"]
    train = eras.labelled(pair, 4, seed=0)
    gpt = eras.GPTEra(recipe={**eras.GPT_RECIPE, "min_steps": 2, "epochs": 1})
    (ids, mask, labels), kind = gpt.encode(gpt.load()[1], train)
    assert kind == "similarity" and ids.shape[:2] == (8, 2) and ids.shape[2] <= eras.MAX_LEN  # both orders
    assert 0.0 <= gpt.score(pair, train, seed=0) <= 1.0
    bert = eras.eras(["random init"])["random init"].scorer
    bert.recipe.update(epochs=1, min_steps=2)
    data = bert.encode(bert.load(0)[1], train)
    assert data["segments"].max() == 1 and data["ids"].shape[1] <= eras.MAX_LEN
    assert 0.0 <= bert.score(pair, train, seed=0) <= 1.0


def test_the_command_writes_and_extends_one_grid(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(eras, "SIZES", TINY)
    out = tmp_path / "eras.json"
    common = ["--out", str(out), "--tasks", "pair", "--budgets", "2", "3", "--seeds", "2", "--threads", "1"]
    eras.main(["--eras", "GloVe 6B, frozen", *common])
    eras.main(["--eras", "GloVe 6B, fine-tuned", *common])
    result = eras.load_results(out)
    assert result["sizes"] == TINY and set(result["eras"]) == {"GloVe 6B, frozen", "GloVe 6B, fine-tuned"}
    assert len(result["runs"]) == 2 * 2 * 2 and {r["per_class"] for r in result["runs"]} == {2, 3}
    glove = result["eras"]["GloVe 6B, frozen"]
    assert glove["pretraining"]["tokens_seen"] == 6_000_000_000 and glove["parameters"]["trained"] == 50 * 2 + 2
    assert glove["fine_tuning"]["command"].startswith("python -m ptm_lib.eras --eras 'GloVe 6B, frozen'")
    assert "GloVe 6B, fine-tuned   pair     3/class  seed 1  accuracy" in capsys.readouterr().out
    monkeypatch.setattr(eras, "SIZES", {**TINY, "pair_test": 8})
    with pytest.raises(SystemExit):  # other sizes: its runs would not compare
        eras.main(["--eras", "GloVe 6B, frozen", *common])
    broken = json.loads(out.read_text())
    broken["runs"].append(broken["runs"][0])
    out.write_text(json.dumps(broken))
    with pytest.raises(ValueError, match="not a complete grid"):
        eras.load_results(out)


def test_the_book_grid_has_every_era_task_budget_and_seed():
    result = eras.load_results()
    assert set(result["eras"]) == set(eras.ERA_NAMES)
    cells = {(r["era"], r["task"], r["per_class"]) for r in result["runs"]}
    assert cells == {(e, t, b) for e in eras.ERA_NAMES for t in eras.TASKS for b in eras.BUDGETS}
    assert {r["seed"] for r in result["runs"]} == {0, 1, 2}


def test_the_command_refuses_bad_options_before_any_work(tmp_path, capsys):
    for options, message in [(["--seeds", "0"], "--seeds and every --budgets must be 1 or more"),
                             (["--budgets", "8", "0"], "--seeds and every --budgets must be 1 or more"),
                             (["--eras", "BERT-large"], "invalid choice: 'BERT-large'"),
                             (["--out", str(tmp_path)], "is a folder; give a file name")]:
        with pytest.raises(SystemExit):
            eras.main(["--out", str(tmp_path / "eras.json"), *options])
        assert message in capsys.readouterr().err, options
    with pytest.raises(ValueError, match="unknown eras \\['ELMo'\\]"):
        eras.eras(["ELMo"])
