"""The API's service layer: what each route does, over the artifact store and the job queue,
free of HTTP details but answering in problem details."""
