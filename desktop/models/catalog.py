"""The curated catalog (models.json): the models Lantern recommends, checked when it is read.

File names and sizes are not in the catalog: they come from the Hub at run time (list the
repository, match the quantization), so a renamed file upstream does not break an entry.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from desktop.errors import InvalidCatalog

USES = ("chat", "summarize", "translate", "code", "documents")
# A chat model writes text; an embedding model turns text into vectors for documents (its
# only use: "documents"), with the prefixes it was trained to expect before a search query
# and before a passage.
KINDS = ("chat", "embedding")
_ID = re.compile(r"^[a-z0-9][a-z0-9.-]*$")
_REPO = re.compile(r"^[A-Za-z0-9][\w.-]*/[\w.-]+$")
_LANGUAGE = re.compile(r"^[a-z]{2}$")


@dataclass(frozen=True)
class CatalogEntry:
    id: str
    name: str
    family: str
    repo: str
    quant: str  # the recommended quantization
    quants: tuple[str, ...]  # every one offered, smallest first
    parameters_b: float
    context_length: int
    license: str
    languages: tuple[str, ...]
    good_for: tuple[str, ...]
    description: str
    starter: bool = False
    kind: str = "chat"
    query_prefix: str = ""
    document_prefix: str = ""


def load_catalog(path: Path) -> list[CatalogEntry]:
    """The entries of `path`; InvalidCatalog naming the entry and field at the first problem."""
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise InvalidCatalog(f"Cannot read the model catalog {path}: {exc.strerror}.") from exc
    except ValueError as exc:
        raise InvalidCatalog(f"The model catalog {path} is not valid JSON: {exc}.") from exc
    if not isinstance(document, dict) or not isinstance(document.get("models"), list):
        raise InvalidCatalog(f"The model catalog {path} needs a top-level 'models' list.")
    entries: list[CatalogEntry] = []
    seen: set[str] = set()
    for index, raw in enumerate(document["models"]):
        entry = _entry(raw, f"entry {index + 1}")
        if entry.id in seen:
            raise InvalidCatalog(f"Model catalog entry '{entry.id}' appears twice.")
        seen.add(entry.id)
        entries.append(entry)
    return entries


def _entry(raw: Any, where: str) -> CatalogEntry:
    if not isinstance(raw, dict):
        raise InvalidCatalog(f"Model catalog {where} is not an object.")
    if isinstance(raw.get("id"), str):
        where = f"entry '{raw['id']}'"

    def field(name: str, kind: type | tuple[type, ...]) -> Any:
        value = raw.get(name)
        if not isinstance(value, kind) or (isinstance(value, bool) and kind is not bool):
            raise InvalidCatalog(
                f"Model catalog {where}: '{name}' is missing or of the wrong type."
            )
        return value

    def text_list(name: str, pattern: re.Pattern[str] | None = None) -> tuple[str, ...]:
        values = field(name, list)
        if not values or not all(isinstance(v, str) and v for v in values):
            raise InvalidCatalog(
                f"Model catalog {where}: '{name}' must be a non-empty list of text."
            )
        bad = [v for v in values if pattern and not pattern.match(v)]
        if bad:
            raise InvalidCatalog(f"Model catalog {where}: '{name}' has invalid values {bad}.")
        return tuple(values)

    unknown = set(raw) - set(CatalogEntry.__dataclass_fields__)
    if unknown:
        raise InvalidCatalog(f"Model catalog {where}: unknown fields {sorted(unknown)}.")
    entry_id = field("id", str)
    if not _ID.match(entry_id):
        raise InvalidCatalog(
            f"Model catalog {where}: the id must be lowercase letters, digits, '.' or '-'."
        )
    repo = field("repo", str)
    if not _REPO.match(repo):
        raise InvalidCatalog(
            f"Model catalog {where}: '{repo}' is not a Hub repository (owner/name)."
        )
    quants = text_list("quants")
    quant = field("quant", str)
    if quant not in quants:
        raise InvalidCatalog(
            f"Model catalog {where}: the recommended quant {quant} is not in 'quants'."
        )
    good_for = text_list("good_for")
    if not set(good_for) <= set(USES):
        raise InvalidCatalog(f"Model catalog {where}: 'good_for' may only hold {', '.join(USES)}.")
    kind = raw.get("kind", "chat")
    if kind not in KINDS:
        raise InvalidCatalog(f"Model catalog {where}: 'kind' may only be {' or '.join(KINDS)}.")
    embedding = kind == "embedding"
    if embedding != (good_for == ("documents",)):
        raise InvalidCatalog(
            f"Model catalog {where}: an embedding model is good for 'documents' alone, and "
            "only an embedding model is."
        )
    prefixes = {name: raw.get(name, "") for name in ("query_prefix", "document_prefix")}
    for name, prefix in prefixes.items():
        if not isinstance(prefix, str) or (prefix and not embedding):
            raise InvalidCatalog(
                f"Model catalog {where}: '{name}' is text, for embedding models only."
            )
    parameters_b = float(field("parameters_b", (int, float)))
    context_length = field("context_length", int)
    if parameters_b <= 0 or context_length <= 0:
        raise InvalidCatalog(f"Model catalog {where}: sizes must be positive.")
    return CatalogEntry(
        id=entry_id,
        name=field("name", str),
        family=field("family", str),
        repo=repo,
        quant=quant,
        quants=quants,
        parameters_b=parameters_b,
        context_length=context_length,
        license=field("license", str),
        languages=text_list("languages", _LANGUAGE),
        good_for=good_for,
        description=field("description", str),
        starter=bool(raw.get("starter", False)),
        kind=kind,
        **prefixes,
    )
