"""The Salesforce sandbox, driven through the real ``simple-salesforce`` over loopback TLS.

Each test asserts exact values (ids, statuses, bodies, end state), so a sandbox that drifts
from Salesforce's behaviour, or from what segsync's connector relies on, fails here first.
"""
