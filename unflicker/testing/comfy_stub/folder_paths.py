"""Stand-in for ComfyUI's folder_paths (same function names and behaviour for what the pack uses).

Only put on sys.path by unflicker.testing.use_comfy_standins() (tests, benchmarks) when no ComfyUI is importable.
Directories come from the UNFLICKER_TEST_ROOT environment variable (the tests point it at a per-session temp
folder).
"""

import os

_root = os.environ.get("UNFLICKER_TEST_ROOT") or os.path.join(os.getcwd(), ".comfy-test-root")
models_dir = os.path.join(_root, "models")
output_directory = os.path.join(_root, "output")
temp_directory = os.path.join(_root, "temp")
input_directory = os.path.join(_root, "input")
supported_pt_extensions = {".ckpt", ".pt", ".pt2", ".bin", ".pth", ".safetensors", ".pkl", ".sft"}
folder_names_and_paths: dict[str, tuple[list[str], set[str]]] = {}
for _name in ("checkpoints", "diffusers", "controlnet", "vae", "loras"):
    folder_names_and_paths[_name] = ([os.path.join(models_dir, _name)], supported_pt_extensions)


def get_output_directory():
    return output_directory


def get_temp_directory():
    return temp_directory


def get_input_directory():
    return input_directory


def get_directory_by_type(type_name):
    return {"output": output_directory, "temp": temp_directory, "input": input_directory}.get(type_name)


def annotated_filepath(name):
    for suffix, base in ((" [output]", output_directory), (" [input]", input_directory), (" [temp]", temp_directory)):
        if name.endswith(suffix):
            return name[: -len(suffix)], base
    return name, None


def get_annotated_filepath(name, default_dir=None):
    name, base = annotated_filepath(name)
    if base is None:
        base = default_dir if default_dir is not None else input_directory
    return os.path.join(base, name)


def exists_annotated_filepath(name):
    return os.path.exists(get_annotated_filepath(name))


def add_model_folder_path(folder_name, full_folder_path, is_default=False):
    paths, exts = folder_names_and_paths.setdefault(folder_name, ([], set()))
    if full_folder_path in paths:
        return
    if is_default:
        paths.insert(0, full_folder_path)
    else:
        paths.append(full_folder_path)


def get_folder_paths(folder_name):
    return list(folder_names_and_paths.get(folder_name, ([], set()))[0])


def get_filename_list(folder_name):
    paths, exts = folder_names_and_paths.get(folder_name, ([], set()))
    found = set()
    for base in paths:
        if not os.path.isdir(base):
            continue
        for dirpath, dirs, files in os.walk(base, followlinks=True):
            for f in files:
                if not exts or os.path.splitext(f)[1].lower() in exts:
                    found.add(os.path.relpath(os.path.join(dirpath, f), base).replace(os.sep, "/"))
    return sorted(found)


def get_full_path(folder_name, filename):
    """Files only, like ComfyUI's: a folder of the same name is not found."""
    filename = os.path.relpath(os.path.join("/", filename), "/")
    for base in get_folder_paths(folder_name):
        full = os.path.join(base, filename)
        if os.path.isfile(full):
            return full
    return None


def get_full_path_or_raise(folder_name, filename):
    full = get_full_path(folder_name, filename)
    if full is None:
        raise FileNotFoundError(f"Model in folder '{folder_name}' with filename '{filename}' not found.")
    return full


def get_save_image_path(filename_prefix, output_dir, image_width=0, image_height=0):
    """Same contract as ComfyUI's: (full_output_folder, filename, counter, subfolder, filename_prefix)."""

    def map_filename(filename):
        prefix_len = len(os.path.basename(filename_prefix))
        prefix = filename[: prefix_len + 1]
        try:
            digits = int(filename[prefix_len + 1:].split("_")[0])
        except ValueError:
            digits = 0
        return digits, prefix

    subfolder = os.path.dirname(os.path.normpath(filename_prefix))
    filename = os.path.basename(os.path.normpath(filename_prefix))
    full_output_folder = os.path.join(output_dir, subfolder)
    if os.path.commonpath((output_dir, os.path.abspath(full_output_folder))) != output_dir:
        raise Exception("Saving image outside the output folder is not allowed.")
    try:
        counter = max(filter(lambda a: os.path.normcase(a[1][:-1]) == os.path.normcase(filename) and a[1][-1] == "_",
                             map(map_filename, os.listdir(full_output_folder))))[0] + 1
    except (ValueError, FileNotFoundError):
        os.makedirs(full_output_folder, exist_ok=True)
        counter = 1
    return full_output_folder, filename, counter, subfolder, filename_prefix
