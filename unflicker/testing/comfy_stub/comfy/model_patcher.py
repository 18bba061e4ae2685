"""Stand-in for comfy.model_patcher.ModelPatcher: holds a model and the devices it loads to and offloads to."""


class ModelPatcher:
    def __init__(self, model, load_device, offload_device, size=0, weight_inplace_update=False):
        self.model = model
        self.load_device = load_device
        self.offload_device = offload_device

    def model_dtype(self):
        return next(self.model.parameters()).dtype
