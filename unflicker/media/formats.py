"""Output formats: one table of what each writes (codec, pixel format, container, how sound goes in).

Frames reach the encoder as 8-bit RGB. YUV formats convert with the source's matrix and range and are tagged
with the source's colour tags (BT.709 where the source has none); RGB formats (FFV1, H.264 4:4:4 lossless)
store the pixels as given, so they come back identical.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..errors import UnflickerError
from .probe import BT709, ColorTags


@dataclass(frozen=True)
class Format:
    name: str
    ext: str
    container: str  # ffmpeg's muxer name
    codec: str
    pix_fmt: str = "yuv420p"
    rgb: bool = False  # pixels stored as RGB: no matrix conversion
    lossless: bool = False
    audio_codec: str = ""  # how sound is encoded when it cannot be copied; "" = the format holds no sound
    copy_audio: tuple[str, ...] | None = ()  # codecs copied untouched; None = any
    metadata: bool = True
    description: str = ""

    def encoder_args(self, crf: int, preset: str) -> list[str]:
        c = self.codec
        if c == "libx264":
            return ["-c:v", c, "-crf", str(crf), "-preset", preset]
        if c == "libx264rgb":
            return ["-c:v", c, "-qp", "0", "-preset", preset]
        if c == "libx265":
            return ["-c:v", c, "-crf", str(crf), "-preset", preset, "-tag:v", "hvc1", "-x265-params", "log-level=error"]
        if c == "prores_ks":
            return ["-c:v", c, "-profile:v", "4" if "444" in self.pix_fmt else "3", "-vendor", "apl0"]
        if c == "libvpx-vp9":
            return ["-c:v", c, "-crf", str(min(63, crf * 63 // 51 + 8)), "-b:v", "0", "-row-mt", "1", "-deadline", "good",
                    "-cpu-used", "4" if preset in ("ultrafast", "superfast", "veryfast", "faster", "fast") else "2"]
        if c == "ffv1":
            return ["-c:v", c, "-level", "3", "-g", "1", "-slicecrc", "1"]
        raise AssertionError(c)  # gif/webp are built by the writer


_MP4_COPY = ("aac", "mp3", "alac", "ac3", "eac3", "opus", "flac")
FORMATS = {f.name: f for f in (
    Format("mp4", "mp4", "mp4", "libx264", audio_codec="aac", copy_audio=_MP4_COPY,
           description="H.264 4:2:0 8-bit (plays everywhere; crf sets quality)"),
    Format("h264-10bit", "mp4", "mp4", "libx264", "yuv420p10le", audio_codec="aac", copy_audio=_MP4_COPY,
           description="H.264 High 10, 4:2:0 10-bit"),
    Format("h264-lossless", "mp4", "mp4", "libx264rgb", "gbrp", rgb=True, lossless=True, audio_codec="aac",
           copy_audio=_MP4_COPY, description="H.264 4:4:4 (RGB) qp 0: lossless, full chroma"),
    Format("h265", "mp4", "mp4", "libx265", audio_codec="aac", copy_audio=_MP4_COPY,
           description="H.265/HEVC 4:2:0 8-bit"),
    Format("h265-10bit", "mp4", "mp4", "libx265", "yuv420p10le", audio_codec="aac", copy_audio=_MP4_COPY,
           description="H.265/HEVC Main 10, 4:2:0 10-bit"),
    Format("prores-hq", "mov", "mov", "prores_ks", "yuv422p10le", audio_codec="pcm_s24le",
           copy_audio=_MP4_COPY + ("pcm_s16le", "pcm_s24le", "pcm_s32le", "pcm_f32le"),
           description="Apple ProRes 422 HQ, 10-bit .mov"),
    Format("prores-4444", "mov", "mov", "prores_ks", "yuv444p10le", audio_codec="pcm_s24le",
           copy_audio=_MP4_COPY + ("pcm_s16le", "pcm_s24le", "pcm_s32le", "pcm_f32le"),
           description="Apple ProRes 4444, 10-bit .mov"),
    Format("vp9", "webm", "webm", "libvpx-vp9", audio_codec="libopus", copy_audio=("opus", "vorbis"),
           description="VP9 4:2:0 8-bit .webm"),
    Format("vp9-10bit", "webm", "webm", "libvpx-vp9", "yuv420p10le", audio_codec="libopus",
           copy_audio=("opus", "vorbis"), description="VP9 profile 2, 4:2:0 10-bit .webm"),
    Format("ffv1", "mkv", "matroska", "ffv1", "gbrp", rgb=True, lossless=True, audio_codec="flac", copy_audio=None,
           description="FFV1 RGB .mkv: lossless archive"),
    Format("webp", "webp", "webp", "libwebp_anim", "bgra", rgb=True, metadata=False,
           description="animated WebP (crf 0 = lossless); no sound"),
    Format("gif", "gif", "gif", "gif", "pal8", rgb=True, metadata=False, description="animated GIF; no sound"),
)}
FORMAT_NAMES = tuple(FORMATS)
DEFAULT_FOR_EXT = {"mp4": "mp4", "m4v": "mp4", "mov": "prores-hq", "webm": "vp9", "mkv": "ffv1", "webp": "webp",
                   "gif": "gif"}

# Names ffmpeg itself prints and accepts for each tag; anything else read from a file is dropped, so file
# contents never become filter text.
_PRIMARIES = {"bt709", "bt470m", "bt470bg", "smpte170m", "smpte240m", "film", "bt2020", "smpte428", "smpte431",
              "smpte432", "jedec-p22", "ebu3213"}
_TRANSFERS = {"bt709", "gamma22", "gamma28", "smpte170m", "smpte240m", "linear", "log100", "log316",
              "iec61966-2-4", "bt1361e", "iec61966-2-1", "bt2020-10", "bt2020-12", "smpte2084", "smpte428",
              "arib-std-b67"}
# matrix tag -> swscale's name for the same conversion
_MATRICES = {"bt709": "bt709", "smpte170m": "smpte170m", "bt470bg": "bt470", "fcc": "fcc", "smpte240m": "smpte240m",
             "bt2020nc": "bt2020", "bt2020c": "bt2020"}


def choose(fmt: str | None, path: str) -> Format:
    """The format for ``path``: ``fmt`` when given (its extension must match), else by the file's extension."""
    ext = path.rsplit(".", 1)[-1].lower() if "." in path else ""
    if not fmt:
        if ext not in DEFAULT_FOR_EXT:
            raise UnflickerError(f"output {path!r}: unknown extension .{ext}; use " + ", ".join(
                "." + e for e in DEFAULT_FOR_EXT) + " or choose a --format")
        fmt = DEFAULT_FOR_EXT[ext]
    fmt = fmt.lower()
    if fmt not in FORMATS:
        raise UnflickerError(f"format must be one of {', '.join(FORMAT_NAMES)}; got {fmt!r}")
    f = FORMATS[fmt]
    if ext and ext != f.ext and not (f.ext == "mp4" and ext == "m4v"):
        raise UnflickerError(f"format {fmt} writes .{f.ext} files; the output {path!r} is named .{ext}")
    return f


def output_color(source: ColorTags | None) -> ColorTags:
    """The tags a YUV output carries: the source's (validated), BT.709 filling what it leaves unset."""
    src = source or ColorTags()
    matrix = src.matrix if src.matrix in _MATRICES else ""
    family_709 = matrix in ("", "bt709")
    return ColorTags(
        src.primaries if src.primaries in _PRIMARIES else ("bt709" if family_709 else ""),
        src.transfer if src.transfer in _TRANSFERS else ("bt709" if family_709 else ""),
        matrix or "bt709",
        src.range if src.range in ("tv", "pc") else "tv",
    )


def video_filter(f: Format, width: int, height: int, color: ColorTags | None) -> str:
    """The -vf text from fixed names and validated tags only."""
    if f.name == "webp":
        return "format=bgra"
    if f.name == "gif":
        return "split[a][b];[a]palettegen=stats_mode=diff[p];[b][p]paletteuse=dither=sierra2_4a"
    tags = output_color(color)
    chain = []
    if not f.rgb and (width % 2 or height % 2) and f.pix_fmt.startswith(("yuv420", "yuv422")):
        # 4:2:0/4:2:2 need even sizes: repeat the last row/column rather than scale the picture
        chain.append("pad=ceil(iw/2)*2:ceil(ih/2)*2:0:0,fillborders=right=1:bottom=1:mode=smear")
    params = [f"color_primaries={tags.primaries}" if tags.primaries else "",
              f"color_trc={tags.transfer}" if tags.transfer else ""]
    if f.rgb:
        chain.append(f"format={f.pix_fmt}")
        params += ["colorspace=gbr", "range=pc"]
    else:
        chain.append(f"scale=out_color_matrix={_MATRICES[tags.matrix]}:out_range={tags.range},format={f.pix_fmt}")
        params += [f"colorspace={tags.matrix}", f"range={tags.range}"]
    chain.append("setparams=" + ":".join(p for p in params if p))
    return ",".join(chain)


def written_color(f: Format, color: ColorTags | None) -> ColorTags:
    """The tags a file written in ``f`` from a source tagged ``color`` carries."""
    if f.name in ("gif", "webp"):
        return ColorTags()
    tags = output_color(color)
    if f.rgb:
        return ColorTags(tags.primaries, tags.transfer, "gbr", "pc")
    return tags
