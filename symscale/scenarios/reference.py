"""Published models (data/reference_models.csv) to name as a quality target: --quality-of MODEL or N:D."""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

from symscale.base.datafiles import parsed, read_rows
from symscale.base.errors import InputError
from symscale.base.numbers import parse_number


@dataclass(frozen=True)
class ReferenceModel:
    """A model by its published parameter count and training tokens."""

    name: str
    params: float
    tokens: float
    source: str


@lru_cache(maxsize=1)
def reference_models() -> dict[str, ReferenceModel]:
    """Every published model of data/reference_models.csv, keyed by lower-case name."""
    rows = read_rows("reference_models.csv", ("name", "params", "tokens", "source"))

    def build(row: dict) -> ReferenceModel:
        return ReferenceModel(row["name"], float(row["params"]), float(row["tokens"]), row["source"])

    return {m.name.lower(): m for m in parsed("reference_models.csv", rows, build)}


def reference_model(spec: str) -> ReferenceModel:
    """A model named in the catalog (any case), or 'N:D' with numbers in the CLI grammar (7B:2T)."""
    text = str(spec).strip()
    if ":" in text:
        size, _, data = text.partition(":")
        try:
            params, tokens = parse_number(size), parse_number(data)
        except ValueError as exc:
            raise InputError(f"--quality-of {spec!r}: {exc}; write PARAMS:TOKENS, e.g. 7B:2T") from None
        if params <= 0 or tokens <= 0:
            raise InputError(f"--quality-of {spec!r}: parameters and tokens must be > 0")
        return ReferenceModel(f"{size.strip()}:{data.strip()}", params, tokens, "given on the command line")
    table = reference_models()
    if text.lower() not in table:
        raise InputError(f"--quality-of {spec!r}: not a model of data/reference_models.csv ("
                         f"{', '.join(m.name for m in table.values())}) nor PARAMS:TOKENS such as 7B:2T")
    return table[text.lower()]
