"""The REST API under /api/v1; `routes.install_api(app)` mounts it."""
