"""MQTT -> Kafka bridge: at-least-once, keyed by node, bad payloads to ``dead_letter``."""
