"""The predictor's Prometheus series, registered only by the process that serves predictions
(the API), so no worker exposes them (their names are in shared.platform.telemetry.API_SERIES)."""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram

PREDICT_BATCH = Histogram(
    "mjd_predictor_batch_size",
    "Pairs per model call of the predictor's micro-batcher",
    buckets=(1, 2, 4, 8, 16, 32, 64, 128),
)
PREDICT_WAIT = Histogram(
    "mjd_predictor_queue_wait_seconds",
    "Time a prediction request waited for its batch to start",
    buckets=(0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5),
)
PREDICT_SECONDS = Histogram(
    "mjd_predictor_inference_seconds",
    "Tokenisation and ONNX Runtime time per batch",
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5),
)
PREDICT_REJECTED = Counter(
    "mjd_predictor_rejected_total", "Prediction requests refused (429) because the queue was full"
)
PREDICT_DROPPED = Counter(
    "mjd_predictor_dropped_total",
    "Prediction requests dropped before inference: past their deadline, or the client left",
    ["reason"],
)
MODEL_INFO = Gauge(
    "mjd_predictor_model_info",
    "1 for the model version, variant and execution provider this server answers with",
    ["version", "variant", "provider"],
    multiprocess_mode="livemax",
)
