"""Search spaces: genome <-> genotype <-> canonical string, and genome -> network."""

from xnas.space import micro, nb201  # noqa: F401  (registration)
from xnas.space.base import SPACES, Genome, SearchSpace, get_space
from xnas.space.references import REFERENCES, resolve_arch

__all__ = ["REFERENCES", "SPACES", "Genome", "SearchSpace", "get_space", "resolve_arch"]
