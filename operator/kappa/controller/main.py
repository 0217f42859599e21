"""`kappa operator`: connect to the cluster and run the kopf handlers."""

import asyncio
import logging
from typing import Any

import kopf
from kubernetes import client, config

from kappa.controller import quota
from kappa.controller.esm import register_esm
from kappa.controller.handlers import State, register
from kappa.k8s.objects import Objects
from kappa.settings import load


def _api_client() -> client.ApiClient:
    try:
        config.load_incluster_config()
    except config.ConfigException:
        config.load_kube_config()  # KUBECONFIG, as kubectl does
    return client.ApiClient()


def main() -> int:
    """Run the operator until it is stopped; return the exit status."""
    settings = load()
    logging.basicConfig(
        level=settings.log_level.value,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    api = _api_client()
    state = State(objects=Objects(api), settings=settings)
    register(state)
    register_esm(api, settings)
    quota.register(state)

    @kopf.on.startup()
    def configure(settings: kopf.OperatorSettings, **_: Any) -> None:
        # Events for what users act on; kopf's own chatter stays in the log.
        settings.posting.level = logging.WARNING
        settings.watching.server_timeout = 300

    asyncio.run(kopf.operator(clusterwide=True, standalone=True))
    return 0
