"""The flow feature vector shared by the edge (which computes it) and the hub (which scores it).

The order is part of the wire format: ``FlowRecord.features[i]`` is ``FLOW_FEATURES[i]``.
Changing the list means bumping ``FEATURE_VERSION``.
"""

from __future__ import annotations

FEATURE_VERSION = 1

FLOW_FEATURES: tuple[str, ...] = (
    # size and duration
    "duration_s",
    "fwd_packets",
    "bwd_packets",
    "fwd_bytes",
    "bwd_bytes",
    "fwd_pkt_len_min",
    "fwd_pkt_len_max",
    "fwd_pkt_len_mean",
    "fwd_pkt_len_std",
    "bwd_pkt_len_min",
    "bwd_pkt_len_max",
    "bwd_pkt_len_mean",
    "bwd_pkt_len_std",
    "avg_pkt_size",
    "down_up_ratio",
    # rates
    "flow_bytes_per_s",
    "flow_pkts_per_s",
    "fwd_pkts_per_s",
    "bwd_pkts_per_s",
    # inter-arrival times (seconds)
    "flow_iat_mean",
    "flow_iat_std",
    "flow_iat_min",
    "flow_iat_max",
    "fwd_iat_mean",
    "fwd_iat_std",
    "bwd_iat_mean",
    "bwd_iat_std",
    # TCP flags and headers
    "fin_count",
    "syn_count",
    "rst_count",
    "psh_count",
    "ack_count",
    "urg_count",
    "ece_cwr_count",
    "fwd_header_bytes",
    "bwd_header_bytes",
    "init_fwd_win",
    "init_bwd_win",
    "fwd_payload_packets",
    # protocol and ports
    "proto_tcp",
    "proto_udp",
    "proto_icmp",
    "dst_port_well_known",
    # per-source-host time-window aggregates (the window the flow started in)
    "src_fanout_hosts",
    "src_distinct_dst_ports",
    "src_syn_to_synack_ratio",
    "src_flows_in_window",
    # per-destination-host aggregates (fan-in: floods and brute force against one target)
    "dst_fanin_hosts",
    "dst_flows_in_window",
)

FEATURE_INDEX: dict[str, int] = {name: i for i, name in enumerate(FLOW_FEATURES)}

COUNT_FEATURES: tuple[str, ...] = tuple(
    n for n in FLOW_FEATURES if n.endswith(("_packets", "_count"))
)
"""The features that count packets (per direction, with payload, per TCP flag): whole
numbers the contracts bound by ``MAX_PACKETS`` and the store keeps in 32-bit columns."""
