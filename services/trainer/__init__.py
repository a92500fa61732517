"""Training service (Celery queue ``training``): soft-label students, ONNX export (issue 5)."""
