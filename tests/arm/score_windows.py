"""Score flow windows with the edge's TFLite detector; run on either architecture.

``python tests/arm/score_windows.py MODEL_DIR WINDOWS.npy`` prints one JSON object:
``{"machine": ..., "runtime": ..., "version": ..., "scores": [...]}``. The ARM test runs it
under emulation and compares the scores with the x86 ones computed in the test process.
"""

from __future__ import annotations

import json
import platform
import sys
from pathlib import Path

import numpy as np

from edge_agent.detectors.lstm import load_model


def main(model_dir: str, windows: str) -> None:
    model = load_model(Path(model_dir))
    batch = np.load(windows)
    scores = [model.score(w) for w in batch]
    runtime = type(model.interpreter).__module__.split(".")[0]
    print(
        json.dumps(
            {
                "machine": platform.machine(),
                "runtime": runtime,
                "version": model.version,
                "scores": scores,
            }
        )
    )


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
