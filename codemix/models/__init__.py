"""Model families, their tiny offline twins, and loading."""

from codemix.models.families import FAMILIES, Family, get_family, register_family

__all__ = ["FAMILIES", "Family", "get_family", "register_family"]
