"""`record`: a dataclass that is immutable to the type checker and plain at run time.

A frozen dataclass's `__init__` sets every field through `object.__setattr__`: for nine
fields that is 1.05 µs against 0.21 µs for a plain one (this machine, Python 3.11). The
dispatcher makes four such objects per delivery (the claimed delivery, the HTTP result, the
attempt record and its health view), so their records are declared with this decorator: mypy
still rejects any assignment to a field (PEP 681's `frozen_default`), and nothing in the package
assigns one. Unlike frozen dataclasses they are not hashable.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TypeVar, dataclass_transform

T = TypeVar("T")


@dataclass_transform(frozen_default=True)
def record(cls: type[T]) -> type[T]:
    """`@dataclass(slots=True)`, read-only for the type checker."""
    return dataclass(slots=True)(cls)
