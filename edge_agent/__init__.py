"""The fednids edge agent: capture, flows, detectors, outbox and MQTT uplink (runs on each Pi)."""
