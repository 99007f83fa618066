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

Nothing here touches the network unless you ask: ``load_gpt2("gpt2", allow_download=True)``
fetches OpenAI's 124M-parameter model from the Hugging Face Hub (e.g. on Colab).
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import torch

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
        raise ValueError(f"config.json describes a {hf['model_type']!r} model; load_gpt2 reads GPT-2 checkpoints only.")
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
    if not allow_download:
        raise FileNotFoundError(
            f"No checkpoint directory at {str(path)!r}. Give a directory holding config.json and "
            "model.safetensors (or pytorch_model.bin), or pass allow_download=True to fetch the Hugging Face "
            f"Hub repository {str(path)!r} (needs internet, e.g. on Colab).")
    from huggingface_hub import snapshot_download

    return Path(snapshot_download(repo_id=str(path), allow_patterns=["config.json", "model.safetensors"]))


def read_weights(directory: Path) -> dict[str, torch.Tensor]:
    """The flat name -> tensor dictionary of a checkpoint directory (safetensors preferred)."""
    from safetensors.torch import load_file

    if (directory / "model.safetensors").is_file():
        return load_file(directory / "model.safetensors")
    index = directory / "model.safetensors.index.json"
    if index.is_file():
        shards = sorted(set(json.loads(index.read_text())["weight_map"].values()))
        return {k: v for shard in shards for k, v in load_file(directory / shard).items()}
    if (directory / "pytorch_model.bin").is_file():
        return torch.load(directory / "pytorch_model.bin", map_location="cpu", weights_only=True)
    raise FileNotFoundError(f"{directory} holds none of {WEIGHT_FILES}; it is not a Hugging Face checkpoint.")


def read_config(directory: Path) -> dict:
    file = directory / "config.json"
    if not file.is_file():
        raise FileNotFoundError(f"{directory} has no config.json; it is not a Hugging Face checkpoint.")
    return json.loads(file.read_text())


# --- GPT-2 ---

def load_gpt2(path, allow_download: bool = False) -> GPT:
    """A Hugging Face GPT-2 checkpoint directory -> our :class:`GPT` with its weights, in eval mode.

    ``path`` is a directory with ``config.json`` and ``model.safetensors`` (or
    ``pytorch_model.bin``); with ``allow_download=True`` it may also be a Hub id such as
    ``"gpt2"``. Dropout is GPT-2's ``resid_pdrop`` (used only if you train it further).
    """
    directory = resolve(path, allow_download)
    model = GPT(config_from_gpt2(read_config(directory)))
    model.load_state_dict(our_state_dict(read_weights(directory), model))
    return model.eval()


def our_state_dict(hf_weights: dict[str, torch.Tensor], model: GPT) -> dict[str, torch.Tensor]:
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

    directory = Path(path)
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "config.json").write_text(json.dumps(gpt2_config(model.config), indent=2) + "\n")
    save_file(gpt2_state_dict(model), directory / "model.safetensors", metadata={"format": "pt"})
    return directory


__all__ = ["load_gpt2", "save_gpt2", "gpt2_state_dict", "config_from_gpt2", "gpt2_config"]
