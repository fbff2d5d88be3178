"""The sandbox HubSpot portal: CRM v3 contacts, properties, lists and search over loopback.

``sandbox`` runs it (``HubSpotSandbox``, exported by ``connectors.sandbox``); ``api`` holds the
endpoints, ``store`` the portal's data, ``schema`` its default properties, ``search`` the
search API's filters and ``scopes`` the private-app scopes each route needs.
"""
