"""Reader-app compatibility: the Google Reader and Fever APIs; `routes.install_compat(app)` mounts both."""
