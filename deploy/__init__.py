"""Deployment files (nginx, systemd, the environment file) and a local cluster to try them on one machine."""
