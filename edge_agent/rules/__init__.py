"""The declarative rule engine (shipped rules in ``default_rules.toml``)."""

from edge_agent.rules.engine import RuleEngine
from edge_agent.rules.loader import DEFAULT_RULES, RuleFileError, load_rules

__all__ = ["DEFAULT_RULES", "RuleEngine", "RuleFileError", "load_rules"]
