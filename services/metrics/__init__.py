"""Metrics service (Celery queue ``metrics``): evaluation reports and plots over
:mod:`shared.metrics` and :mod:`shared.plots`."""
