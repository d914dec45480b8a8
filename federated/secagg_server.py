"""The ``ServerApp`` with SecAgg+ (Flower 1.42: the legacy ``DefaultWorkflow`` with a
``SecAggPlusWorkflow`` fit stage; clients run ``secaggplus_mod``). The hub aggregates masked,
quantized updates and learns only their weighted sum. Needs at least 3 nodes.

Run config: the same keys as :mod:`federated.server_app` plus ``secagg-shares`` (default 3),
``secagg-threshold`` (default 2) and ``secagg-max-weight`` (an upper bound of a node's sample
count; smaller = finer quantisation, default 10000), all in
:class:`federated.settings.FLServerSettings`. Per-round server FL events are published; per-client ones are not (the hub does not
see individual updates - that is the point).
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import numpy as np
from flwr.app import Context
from flwr.common import ndarrays_to_parameters
from flwr.server import LegacyContext, ServerApp, ServerConfig
from flwr.server.strategy import FedAvg
from flwr.server.workflow import DefaultWorkflow, SecAggPlusWorkflow
from flwr.serverapp import Grid

from contracts.events import FLEvent
from federated.events import FLEventSink
from federated.fast_grid import FastPollGrid
from federated.settings import FLServerSettings
from federated.task import initial_weights

app = ServerApp()


@app.main()
def main(grid: Grid, context: Context) -> None:
    s = FLServerSettings.model_validate(dict(context.run_config))
    meta = json.loads((s.base_model_dir / "metadata.json").read_text())
    lo, hi, window = meta["scaler"]["lo"], meta["scaler"]["hi"], int(meta["window"])
    round_config = s.round_config(window, lo, hi)
    initial = initial_weights(round_config, len(lo))
    fixed = round_config.to_scalars()
    sink = FLEventSink(s.events_url or None)
    t_round = [time.perf_counter()]

    def fit_config(rnd: int) -> dict[str, bool | int | float | str]:
        t_round[0] = time.perf_counter()
        return fixed | {"server-round": rnd}

    def fit_metrics(results: list[tuple[int, dict[str, float]]]) -> dict[str, float]:
        n = sum(k for k, _ in results) or 1
        loss = sum(k * float(m.get("loss", 0.0)) for k, m in results) / n
        sink.emit(
            [
                FLEvent(
                    node_id=s.server_node,
                    role="server",
                    round=len(sink.sent) + 1,
                    phase="aggregate",
                    loss=loss,
                    participants=len(results),
                    samples=sum(k for k, _ in results),
                    duration_s=time.perf_counter() - t_round[0],
                    metrics={"secagg": 1.0},
                )
            ]
        )
        return {"loss": loss}

    strategy = FedAvg(
        fraction_fit=s.fraction_train,
        fraction_evaluate=0.0,
        min_fit_clients=s.min_nodes,
        min_available_clients=s.min_nodes,
        on_fit_config_fn=fit_config,  # type: ignore[arg-type]
        initial_parameters=ndarrays_to_parameters(initial),
        fit_metrics_aggregation_fn=fit_metrics,  # type: ignore[arg-type]
    )
    legacy = LegacyContext(
        context,
        config=ServerConfig(num_rounds=s.num_rounds, round_timeout=s.round_timeout_s),
        strategy=strategy,
    )
    workflow = DefaultWorkflow(
        fit_workflow=SecAggPlusWorkflow(
            num_shares=s.secagg_shares,
            reconstruction_threshold=s.secagg_threshold,
            max_weight=s.secagg_max_weight,
            timeout=s.round_timeout_s,
        )
    )
    workflow(FastPollGrid(grid, s.poll_s), legacy)
    sink.close()
    if s.summary_path:
        final = legacy.state.array_records["parameters"].to_numpy_ndarrays()
        Path(s.summary_path).write_text(
            json.dumps({"rounds": s.num_rounds, "secagg": True, "events": len(sink.sent)})
        )
        np.savez(Path(s.summary_path).with_suffix(".npz"), *final)
