"""Salesforce connector behaviour, beyond the shared contract.

Most modules pin, with ``responses``, what the connector does with each answer Salesforce
documents (error bodies, paging, per-record results, logins); ``test_sandbox_org`` runs the
connector end to end against the sandbox org, asserting the org's own state.
"""
