"""``python -m unflicker.testing snapshot [--check]``: write (or compare) unflicker/comfy/pack_nodes.json, the pack's node
definitions with empty model folders, which the workflow commands use offline."""

from __future__ import annotations

import json
import os
import sys
import tempfile


def snapshot() -> dict:
    with tempfile.TemporaryDirectory(prefix="unflicker-snapshot-") as root:
        os.environ["UNFLICKER_TEST_ROOT"] = root  # empty model/input folders: no local file names in the file
        from . import use_comfy_standins

        use_comfy_standins()
        from ..comfy.object_info import pack_object_info

        return pack_object_info()


def main(argv: list[str]) -> int:
    from ..comfy.object_info import PACK_NODES_FILE

    if argv[:1] != ["snapshot"]:
        print(__doc__.strip(), file=sys.stderr)
        return 2
    text = json.dumps(snapshot(), indent=1, sort_keys=True) + "\n"
    if "--check" in argv:
        with open(PACK_NODES_FILE, encoding="utf-8") as f:
            same = f.read() == text
        print("pack_nodes.json is current" if same else
              "pack_nodes.json is stale: run python -m unflicker.testing snapshot")
        return 0 if same else 1
    with open(PACK_NODES_FILE, "w", encoding="utf-8", newline="\n") as f:
        f.write(text)
    print(f"wrote {PACK_NODES_FILE}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
