"""Stand-in for ComfyUI's interrupt flag and device helpers, with the same names."""

import torch

interrupt_processing = False


class InterruptProcessingException(Exception):
    pass


def interrupt_current_processing(value=True):
    global interrupt_processing
    interrupt_processing = value


def processing_interrupted():
    return interrupt_processing


def throw_exception_if_processing_interrupted():
    global interrupt_processing
    if interrupt_processing:
        interrupt_processing = False
        raise InterruptProcessingException()


def get_torch_device():
    return torch.device("cpu")


def unet_offload_device():
    return torch.device("cpu")


def soft_empty_cache(force=False):
    pass


def unload_all_models():
    pass  # the stub holds no models


OOM_EXCEPTION = torch.cuda.OutOfMemoryError
LOADED = []  # ModelPatchers handed to load_models_gpu, most recent last


def should_use_fp16(device=None, model_params=0, prioritize_performance=True, manual_cast=False):
    return False  # CPU


def load_models_gpu(models, memory_required=0, force_patch_weights=False, minimum_memory_required=None,
                    force_full_load=False):
    for m in models:
        m.model.to(m.load_device)
        if m in LOADED:
            LOADED.remove(m)
        LOADED.append(m)
