"""Fixes in post: the flow-guided deflicker (``deflicker``), FFmpeg deflicker + deband (``ffmpeg_fix``) and frame
interpolation (``interpolate``, networks in ``interpolation_models``)."""
