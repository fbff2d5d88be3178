"""The sandbox Salesforce org: REST, Bulk API 2.0, Tooling, SOAP and OAuth over loopback TLS.

``sandbox`` runs it (``SalesforceSandbox``, exported by ``connectors.sandbox``). The APIs:
``rest`` (sObjects, Collections, query), ``bulk``, ``tooling``, ``soap`` (login and Metadata),
``oauth``. The org: ``store`` and ``schema`` (objects, fields, permissions), ``custom_fields``
and ``field_metadata`` (fields defined through the APIs), ``soql`` and ``query`` (queries and
their cursors), ``writes`` and ``values`` (record saves and field values), ``ids``, ``auth``
(sessions), ``usage`` (the daily API allowance), ``errors`` and ``seed``.
"""
