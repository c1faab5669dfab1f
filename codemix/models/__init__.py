"""Model families, their tiny offline twins, and loading.

    families.py  the family registry: one register_family(Family(...)) per family
    loading.py   a model source -> weights and tokenizer, loaded as real checkpoints load
    gguf.py      GGUF checkpoints converted once to safetensors folders
    encoding.py  the one chat -> token ids of training and evaluation (BOS, end-of-turn ids)
    formats.py   a family's chat format applied to a sample, token by token (``codemix families --show``)
    tiny.py      tiny offline twins of each family, built from config
    interpolate.py  models interpolated in weight space between fine-tunes (the surrogate search's fidelity)
"""

from codemix.models.families import FAMILIES, Family, get_family, register_family
from codemix.models.interpolate import interpolation_weights, write_interpolated

__all__ = ["FAMILIES", "Family", "get_family", "interpolation_weights", "register_family", "write_interpolated"]
