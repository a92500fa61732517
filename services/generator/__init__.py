"""MJD generation service (Celery queue ``mjd``): LLM backends and the MJD engine."""
