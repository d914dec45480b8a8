"""Model distribution: sign each new global model and announce it to the fleet."""

from hub.registry.publisher import ModelRegistry, RegistryConfig, RegistryError

__all__ = ["ModelRegistry", "RegistryConfig", "RegistryError"]
