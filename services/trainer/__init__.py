"""Training service (Celery queue ``training``): soft-label students and their ONNX export."""
