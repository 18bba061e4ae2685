"""ComfyUI tooling without ComfyUI: the workflow format (``workflow``, one import point over ``spec``,
``conversion`` (UI <-> API), ``checks`` and ``bundled`` (the shipped files)), the graph builder and
the bundled recipes (``builder``, ``recipes``), ``/object_info`` of the pack (``object_info``) and an HTTP client
(``client``)."""
