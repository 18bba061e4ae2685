"""ComfyUI tooling without ComfyUI: the workflow format (``workflow``: UI <-> API, checks), the graph builder and
the bundled recipes (``builder``, ``recipes``), ``/object_info`` of the pack (``object_info``) and an HTTP client
(``client``)."""
