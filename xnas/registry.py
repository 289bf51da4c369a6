"""One tiny registry used for spaces, ops, datasets, objectives, strategies, evaluators
and executors.

Extension is by registration (``@DATASETS.register("lines")``), or lazily by a
``"module:attribute"`` string (``EVALUATORS.register_lazy("train",
"xnas.evaluate.train:TrainEvaluator")``) that is imported the first time the name is
looked up, so a registry can name entries whose modules pull in heavy dependencies
(torch, mpi4py) without importing them. ``xnas.testing`` holds the conformance kits
that test every entry of a registry for free.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Iterator
from typing import Generic, TypeVar

from xnas.errors import RegistryError

T = TypeVar("T")


class Registry(Generic[T]):
    """A name -> object map with a decorator and a helpful error on unknown names."""

    def __init__(self, kind: str) -> None:
        self.kind = kind
        self._entries: dict[str, T] = {}
        self._lazy: dict[str, str] = {}  # name -> "module:attribute", imported on first get

    def register(self, name: str) -> Callable[[T], T]:
        def decorator(obj: T) -> T:
            if name in self._entries or name in self._lazy:
                raise ValueError(f"{self.kind} {name!r} is already registered")
            self._entries[name] = obj
            return obj

        return decorator

    def register_lazy(self, name: str, target: str) -> None:
        """Register ``name`` as ``"module:attribute"``, imported when first looked up."""
        if name in self._entries or name in self._lazy:
            raise ValueError(f"{self.kind} {name!r} is already registered")
        if ":" not in target:
            raise ValueError(f"lazy {self.kind} {name!r}: expected 'module:attribute'")
        self._lazy[name] = target

    def unregister(self, name: str) -> None:
        """Forget ``name`` (a plugin reloaded, a test's temporary entry)."""
        self._entries.pop(name, None)
        self._lazy.pop(name, None)

    def get(self, name: str) -> T:
        if name in self._lazy:  # imported first: a failing import keeps the entry named
            module, _, attr = self._lazy[name].partition(":")
            self._entries[name] = getattr(importlib.import_module(module), attr)
            del self._lazy[name]
        if name not in self._entries:  # an installed plugin's entry point may register it
            from xnas.plugins import load_entry_point

            if load_entry_point(self.kind, name) and name in self._lazy:
                return self.get(name)
        try:
            return self._entries[name]
        except KeyError:
            valid = ", ".join(self.names()) or "(none registered)"
            raise RegistryError(
                f"unknown {self.kind} {name!r}; expected one of: {valid} (your own? name its "
                "module under plugins: in the config, or install it with an entry point)"
            ) from None

    def names(self) -> list[str]:
        """Every name: registered, lazy, and those installed plugins declare."""
        from xnas.plugins import entry_points

        return sorted({*self._entries, *self._lazy, *entry_points(self.kind)})

    def __contains__(self, name: object) -> bool:
        return name in self._entries or name in self._lazy

    def __iter__(self) -> Iterator[str]:
        return iter(self.names())

    def __len__(self) -> int:
        return len(self._entries) + len(self._lazy)
