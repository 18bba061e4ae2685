"""Fixes in post, one operation each (``plan`` decides, ``run`` streams): the flow-guided deflicker
(``deflicker``, a package by stage), FFmpeg deflicker + deband (``ffmpeg_fix``) and frame interpolation
(``interpolate``: timing, stream, backends ncnn / flow / torch, networks in ``interpolate.models``)."""
