"""The platform under the services: settings, the Celery app and job protocol, queues,
telemetry, the job store (db), the artifact store and its layout, the model registry, API
keys and training targets. The core (the rest of shared/) imports none of it."""
