#!/usr/bin/python3
"""Executes one notebook headless with nbconvert's ExecutePreprocessor (the engine behind
`jupyter nbconvert --execute`), writing the executed copy even when a cell fails, and printing a JSON
line that names the failing cell and its error. Called by scripts/run-notebooks.ts.

usage: execute_notebook.py <notebook.ipynb> <output.ipynb> <kernel_name> <timeout_s or -1>
"""
import json
import os
import sys

import nbformat
from nbconvert.preprocessors import CellExecutionError, ExecutePreprocessor


def error_of(cell):
    """The error text of an executed cell: error outputs plus what the cell wrote to stderr
    (tslab reports the message of a thrown Error there)."""
    parts = []
    for out in cell.get("outputs", []):
        if out.get("output_type") == "error":
            parts.append(f"{out.get('ename', '')}: {out.get('evalue', '')}".strip(": "))
            parts.extend(out.get("traceback", [])[-8:])
        elif out.get("output_type") == "stream" and out.get("name") == "stderr":
            parts.append(out.get("text", ""))
    return "\n".join(p for p in parts if p).strip()


class TrackingExecutor(ExecutePreprocessor):
    """Remembers which cell is running, so a failure can name it (tslab reports a thrown error as
    stderr text and an error reply, without an `error` output to search for)."""

    current = None

    def preprocess_cell(self, cell, resources, index):
        self.current = index
        return super().preprocess_cell(cell, resources, index)


def main():
    src, dst, kernel, timeout = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
    nb = nbformat.read(src, as_version=4)
    ep = TrackingExecutor(timeout=None if timeout < 0 else timeout, kernel_name=kernel)
    result = {"notebook": src, "ok": True}
    try:
        ep.preprocess(nb, {"metadata": {"path": os.path.dirname(os.path.abspath(src))}})
    except CellExecutionError:
        index = ep.current
        cell = nb.cells[index]
        result.update(ok=False, cell_index=index, cell_id=cell.get("id"), error=error_of(cell),
                      source="".join(cell.get("source", ""))[:400])
    except Exception as exc:  # kernel died, timeout, bad notebook
        result.update(ok=False, error=f"{type(exc).__name__}: {exc}")
    finally:
        nbformat.write(nb, dst)
    print(json.dumps(result))
    sys.exit(0 if result["ok"] else 1)


if __name__ == "__main__":
    main()
