"""segsync's connector test kit: the contract every connector passes, for your connector's tests.

The built-in HubSpot and Salesforce connectors are tested with this same suite. A connector's
test module subclasses ``ConnectorContract`` and overrides two pytest fixtures::

    import pytest
    from connectors.testing import ConnectorContract, CrmBackend

    class TestMyCrmContract(ConnectorContract):
        @pytest.fixture
        def backend(self, tmp_path) -> CrmBackend:
            return MyCrmBackend(...)  # an empty CRM for each test, and test-side access to it

        @pytest.fixture
        def connector(self, backend):
            connector = MyCrmConnector.from_settings(MyCrmSettings(...))  # at that CRM
            yield connector
            connector.close()

``CrmBackend`` (``connectors.testing.backend``) says what the backend must do. The kit runs on
pytest, an optional dependency: ``pip install 'segsync[testing]'``.
"""

try:
    import pytest
except ImportError:
    raise ImportError(
        "connectors.testing needs pytest, which is not installed: pip install 'segsync[testing]'"
    ) from None

# The suite's asserts live in this package, not in a test module: have pytest explain them.
pytest.register_assert_rewrite("connectors.testing.contract")

from connectors.testing.backend import CrmBackend  # noqa: E402
from connectors.testing.contract import ConnectorContract  # noqa: E402

__all__ = ["ConnectorContract", "CrmBackend"]
