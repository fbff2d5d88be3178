"""The sandbox CRM, driven through the real ``hubspot-api-client`` over loopback.

Each test asserts exact values (ids, statuses, bodies, end state), so a sandbox that drifts
from HubSpot's behaviour, or from what segsync's connector relies on, fails here first.
"""
