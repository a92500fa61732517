"""The API's service layer: what each route does, over the artifact store and the job queue,
free of HTTP details: it raises domain errors (:mod:`shared.errors`), which
:mod:`services.api.problems` maps to problem details once."""
