"""Model families, their tiny offline twins, loading, and models interpolated between fine-tunes."""

from codemix.models.families import FAMILIES, Family, get_family, register_family
from codemix.models.interpolate import interpolation_weights, write_interpolated

__all__ = ["FAMILIES", "Family", "get_family", "interpolation_weights", "register_family", "write_interpolated"]
