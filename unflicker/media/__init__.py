"""Media I/O: ffmpeg (``ffmpeg``), what a file holds (``probe``), frames in and out (``video``), sound (``audio``),
output formats (``formats``), Load Video's frames and sound together (``selection``), synthetic test clips and
flicker injectors (``synthetic``). Imports nothing above it but the settings and the kinds."""
