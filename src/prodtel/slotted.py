"""A base for small value classes: `repr` and `==` over their `__slots__`, as a dataclass would
give, without importing dataclasses (it pulls in inspect, too heavy for `import prodtel`)."""

from __future__ import annotations


class Slotted:
    __slots__: tuple[str, ...] = ()

    def __repr__(self) -> str:
        fields = ", ".join(f"{k}={getattr(self, k)!r}" for k in self.__slots__)
        return f"{type(self).__name__}({fields})"

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, type(self)):
            return NotImplemented
        return all(getattr(self, k) == getattr(other, k) for k in self.__slots__)

    __hash__ = None  # type: ignore[assignment]  # mutable, like a dataclass with eq
