"""The results table: one row per clip, appended to a JSON Lines file as each clip finishes (flushed, so a killed
run keeps every row it wrote) and written as Parquet at the end when pyarrow is there."""

from __future__ import annotations

import json
import os


class ResultTable:
    """``path``'s JSONL file and its Parquet twin (``table.jsonl`` / ``table.parquet``, either name given)."""

    def __init__(self, path: str):
        base, ext = os.path.splitext(os.path.abspath(path))
        base = base if ext in (".jsonl", ".parquet") else base + ext
        self.jsonl, self.parquet = base + ".jsonl", base + ".parquet"
        self._file = None

    def read(self) -> list[dict]:
        """The rows written so far (none when there is no table yet). A line cut off by a killed run is left out."""
        if not os.path.exists(self.jsonl):
            return []
        rows = []
        with open(self.jsonl) as f:
            for line in f:
                try:
                    rows.append(json.loads(line))
                except json.JSONDecodeError:
                    continue
        return rows

    def start(self, rows: list[dict]) -> None:
        """Begin a run with ``rows`` (what an earlier run left that still holds), then append as clips finish."""
        os.makedirs(os.path.dirname(self.jsonl), exist_ok=True)
        partial = self.jsonl + ".partial"
        with open(partial, "w") as f:
            f.writelines(json.dumps(row) + "\n" for row in rows)
        os.replace(partial, self.jsonl)
        self._file = open(self.jsonl, "a")

    def append(self, row: dict) -> None:
        self._file.write(json.dumps(row) + "\n")
        self._file.flush()  # in the OS's hands: a killed process loses nothing written

    def finish(self) -> str:
        """Close the JSONL file and write the Parquet table; returns the line that says where the table is."""
        if self._file is not None:
            self._file.close()
            self._file = None
        try:
            write_parquet(self.read(), self.parquet)
        except ImportError:
            return f"table: {self.jsonl} (no Parquet: pyarrow is not installed; pip install pyarrow)"
        return f"table: {self.jsonl}, {self.parquet}"


def write_parquet(rows: list[dict], path: str) -> None:
    """``rows`` as a Parquet file, every column any row has (missing values null), written atomically."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    columns = list(dict.fromkeys(name for row in rows for name in row))
    arrays = {}
    for name in columns:
        values = [row.get(name) for row in rows]
        try:
            arrays[name] = pa.array(values)
        except (pa.ArrowInvalid, pa.ArrowTypeError):  # a column of mixed types is kept as JSON text
            arrays[name] = pa.array([None if v is None else json.dumps(v) for v in values])
    partial = path + ".partial"
    pq.write_table(pa.table(arrays) if arrays else pa.table({"input": pa.array([], pa.string())}), partial)
    os.replace(partial, path)
