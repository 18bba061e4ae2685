"""Media I/O: ffmpeg (``ffmpeg``), what a file holds (``probe``), frames in and out (``video``), sound (``audio``),
output formats (``formats``), synthetic test clips and flicker injectors (``synthetic``). Imports nothing above it."""
