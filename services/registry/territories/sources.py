"""Where a territory data set comes from: the bundled one, a folder, or uploaded files.

Files are the Etalab `@etalab/decoupage-administratif` `data/*.json`, gzipped or not.
"""

from __future__ import annotations

import gzip
import zlib
from collections.abc import Mapping
from pathlib import Path

from services.registry.territories.rules import DATASET_FILES, DataSet, DataSetError, parse_dataset

# services/registry/data: the data set shipped with the registry (see its README).
BUNDLED_DIR = Path(__file__).resolve().parents[1] / "data"
BUNDLED_VINTAGE = 2026
BUNDLED: dict[int, Path] = {BUNDLED_VINTAGE: BUNDLED_DIR}

_GZIP_MAGIC = b"\x1f\x8b"


def decode_file(name: str, content: bytes) -> bytes:
    """The JSON text of one file, gunzipped first when it is gzipped."""
    if content[:2] != _GZIP_MAGIC:
        return content
    try:
        return gzip.decompress(content)
    except (OSError, EOFError, zlib.error) as exc:
        raise DataSetError([f"{name}: not a readable gzip file ({exc})"]) from exc


def read_files(vintage: int, files: Mapping[str, bytes]) -> DataSet:
    """A data set from the bytes of its files, keyed by kind (`regions`, `communes`...)."""
    unknown = sorted(set(files) - set(DATASET_FILES))
    if unknown:
        raise DataSetError([f"unknown file(s) {', '.join(unknown)}; expected {DATASET_FILES}"])
    return parse_dataset(vintage, {name: decode_file(name, data) for name, data in files.items()})


def read_folder(folder: Path, vintage: int) -> DataSet:
    """A data set from a folder holding `regions.json(.gz)`, `departements`, `communes`, `epci`."""
    if not folder.is_dir():
        raise DataSetError([f"{folder} is not a folder"])
    files: dict[str, bytes] = {}
    for name in DATASET_FILES:
        for candidate in (folder / f"{name}.json.gz", folder / f"{name}.json"):
            if candidate.is_file():
                files[name] = candidate.read_bytes()
                break
        else:
            raise DataSetError([f"{folder} has no {name}.json.gz nor {name}.json"])
    return read_files(vintage, files)


def read_bundled(vintage: int | None = None) -> DataSet:
    """The data set shipped with the registry (the latest one when `vintage` is None)."""
    chosen = max(BUNDLED) if vintage is None else vintage
    if chosen not in BUNDLED:
        raise DataSetError(
            [f"no bundled data set for vintage {chosen} (bundled: {sorted(BUNDLED)})"]
        )
    return read_folder(BUNDLED[chosen], chosen)
