"""Stand-in for ComfyUI's comfy_api.input: the VIDEO interface (method names as core's VideoInput)."""

import io
from abc import ABC, abstractmethod


class VideoInput(ABC):
    @abstractmethod
    def get_components(self):
        ...

    @abstractmethod
    def save_to(self, path, format=None, codec=None, metadata=None):
        ...

    def get_stream_source(self):
        buffer = io.BytesIO()
        self.save_to(buffer)
        buffer.seek(0)
        return buffer

    def get_dimensions(self):
        raise NotImplementedError

    def get_duration(self):
        raise NotImplementedError

    def get_container_format(self):
        raise NotImplementedError


__all__ = ["VideoInput"]
