"""Edge detectors: the rule engine and the int8 TFLite LSTM autoencoder plug in here."""

from edge_agent.detectors.base import Detector

__all__ = ["Detector"]
