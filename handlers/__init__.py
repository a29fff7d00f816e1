"""Tornado request handlers, one module per audience (WeChat callback, phone pages and their JSON,
tenant API, admin API, ops): they parse HTTP, call the services of the composition root and render
the answer, nothing else."""
