"""Rows as the plain dataclasses that leave the store: every repository returns records that
share nothing with the session they were read in (ARCHITECTURE: no lazy objects cross
threads)."""

from __future__ import annotations

from dataclasses import fields
from typing import TYPE_CHECKING, TypeVar

if TYPE_CHECKING:
    from _typeshed import DataclassInstance

DataclassT = TypeVar("DataclassT", bound="DataclassInstance")


def plain_record(kind: type[DataclassT], row: object, **converted: object) -> DataclassT:
    """`row` as the dataclass `kind`, field by field; `converted` gives the fields that are
    not taken as they are (copies of JSON lists and dicts: a record shares nothing with the
    database session it was read in)."""
    return kind(
        **{
            f.name: converted[f.name] if f.name in converted else getattr(row, f.name)
            for f in fields(kind)
        }
    )
