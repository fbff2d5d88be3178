"""A sync run whose config has no cluster set never loads scikit-learn (issue #14, item 2): a
cold import of it costs seconds a run without clusters has no use for. The run happens in a
fresh interpreter, since this one has loaded scikit-learn already."""

from __future__ import annotations

import json

from tests.safety.test_cli_startup import fresh_python

RUN = """
import json, sys, tempfile
from pathlib import Path
from connectors.hubspot import HubSpotConnector
from connectors.sandbox import HubSpotSandbox
from tests.conftest import TOKEN, hubspot_settings
from tests.expectations import SEGMENTS
from tests.support.segmentation import run, settings
with HubSpotSandbox(token=TOKEN) as crm, tempfile.TemporaryDirectory() as state:
    crm.seed_contacts(50, seed=3)
    connector = HubSpotConnector(hubspot_settings(crm))
    outcome = run(connector, settings(crm, Path(state), SEGMENTS))
    connector.close()
print(json.dumps([outcome.status, "sklearn" in sys.modules]))
"""


def test_a_run_without_cluster_sets_loads_no_scikit_learn() -> None:
    done = fresh_python(RUN)

    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout.splitlines()[-1]) == ["done", False]
