"""The one gateway to MLflow and the Databricks SDK.

Only :mod:`lamp_cli.gateway.client` and :mod:`lamp_cli.gateway.databricks` import them, and only
when a command needs them. Services receive a :class:`~lamp_cli.gateway.client.Gateway`, whose
methods speak lamp's words, return lamp's records and raise lamp's errors. Every workaround of
MLflow's or the SDK's behaviour lives in this package, each saying which versions need it and
why; tests/gateway/test_workarounds.py fails when one stops working or stops being needed.
"""

from lamp_cli.gateway.client import Gateway, connect

__all__ = ["Gateway", "connect"]
