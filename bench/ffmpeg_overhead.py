"""FFmpeg Deflicker + Deband node vs the bare ffmpeg CLI on the same 240 frames at 512x512.

The CLI reads the frames from a raw file on disk and writes raw frames back, running the same filter graph; the
node takes an IMAGE tensor and returns one. Target: node / CLI <= 1.2.
"""

import os
import subprocess
import tempfile

import numpy as np
import torch

from _common import best_of_with_cpu, load_pack

from unflicker.media import ffmpeg, synthetic
from unflicker.fix.ffmpeg_fix import filtergraph
from unflicker.settings import FFmpegFixSettings

N, SIZE, FPS = 240, 512, 24.0


def main():
    pack = load_pack()
    clip, _ = synthetic.brightness_flicker(synthetic.moving_clip("pan", N, SIZE, SIZE, seed=0, speed=1.0), 0.1)
    images = torch.from_numpy(clip).float() / 255.0
    graph = filtergraph(FFmpegFixSettings())
    with tempfile.TemporaryDirectory() as tmp:
        src, dst = os.path.join(tmp, "in.rgb"), os.path.join(tmp, "out.rgb")
        clip.tofile(src)
        cli = [ffmpeg.ffmpeg_exe(), "-hide_banner", "-nostdin", "-loglevel", "error", "-y",
               *ffmpeg.rawvideo_input_args(SIZE, SIZE, FPS)[:-2], "-i", src, "-vf", graph,
               "-f", "rawvideo", "-pix_fmt", "rgb24", dst]
        t_cli, c_cli, _ = best_of_with_cpu(lambda: subprocess.run(cli, check=True))
        cli_out = np.fromfile(dst, np.uint8).reshape(N, SIZE, SIZE, 3)
    node = pack.nodes.ffmpeg_fix.FFmpegDeflickerDeband()
    t_node, c_node, (out,) = best_of_with_cpu(lambda: node.fix(images, True, 5, "am", True, 0.02, 16, False, fps=FPS))
    same = np.array_equal((out.numpy() * 255).round().astype(np.uint8), cli_out)
    print(f"frames: {N} at {SIZE}x{SIZE}, filter: {graph}")
    print(f"bare ffmpeg CLI (raw file on disk -> raw file): wall {t_cli:.2f} s ({N / t_cli:.0f} frames/s), CPU {c_cli:.2f} s")
    print(f"node (IMAGE tensor -> IMAGE tensor):          wall {t_node:.2f} s ({N / t_node:.0f} frames/s), CPU {c_node:.2f} s")
    print(f"ratio node / CLI: wall {t_node / t_cli:.2f}, CPU {c_node / c_cli:.2f} (target <= 1.2); identical frames: {same}")


if __name__ == "__main__":
    main()
