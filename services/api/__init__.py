"""REST API (Litestar): /v1 routes, job submission, real-time predictor. Built in issue 4."""
