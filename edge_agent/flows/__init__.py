"""Flow assembly: packets -> bidirectional flows -> feature vectors (``contracts.FLOW_FEATURES``)."""

from edge_agent.flows.config import FlowConfig
from edge_agent.flows.flow import Flow
from edge_agent.flows.table import FlowTable, to_record

__all__ = ["Flow", "FlowConfig", "FlowTable", "to_record"]
