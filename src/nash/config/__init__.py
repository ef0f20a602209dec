"""Stage configs: one frozen dataclass per stage in ``nash.config.<stage>``, YAML/JSON round-trip.

Import a stage's config from its module, e.g. ``from nash.config.train import TrainConfig``.
"""

from nash.config.base import dumps_yaml, from_dict, load_config, override, save_config, to_dict

__all__ = ["from_dict", "to_dict", "load_config", "save_config", "override", "dumps_yaml"]
