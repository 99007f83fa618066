"""ptm_lib: the library behind "Pretrained Language Models, from word embeddings to BERT".

One idea per module, in the order the book tells the story:

* ``runtime`` -- device, seeds, threads and the cpu/gpu scale presets every chapter uses;
* ``data.hub`` -- data sets from pinned PyPI packages, sha256-verified; ``data.images``,
  ``data.text``, ``data.vocab``, ``data.wordsets``, ``data.lm``, ``data.skipgram`` turn
  them into tensors for each objective;
* ``models`` -- ``vision`` (chapter 1), ``ngram`` and ``nnlm`` (chapter 2), ``huffman``,
  ``word2vec``, ``glove`` and ``classifier`` (chapter 3);
* ``train`` -- the one training loop; ``evaluate`` -- accuracy, analogies, similarity;
  ``viz`` -- the plots and explorers.
"""

__version__ = "0.1.0"
