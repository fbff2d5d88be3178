"""The state store: what segsync remembers between runs, in SQLite by default.

It goes through SQLAlchemy Core, so a PostgreSQL URL works the same. ``store.StateStore`` is
the way in; each module below it keeps one part of the memory:

- ``runs``: the history (``runs``), and how far the current run got (``run_batches``: each
  batch is recorded in the same transaction as its effect on the synced state — that is the
  checkpoint);
- ``contact_values``: the mirror of the field values last pulled (``contacts``), so an
  incremental run can segment every contact while pulling only the changed ones, and what the
  CRM holds of segsync's fields (``synced``), as last seen or written;
- ``lists``: the CRM list of each segment that segsync created or was told to adopt
  (``owned_lists``, by id: a list that merely has a segment's list name is never taken over
  silently), and its members as last seen or written (``members``);
- ``failures``: per-record rejections (``record_failures``), with attempts, so they are retried
  but not forever, and with what each depended on, so they are tried afresh once the cause may
  have gone;
- ``holdouts``: when each contact entered each segment that keeps a holdout, in which group,
  and whether and when it converted (``holdout_entries``), for the report's holdout lift;
- ``moves``: each contact's moves between primary segments (``segment_moves``), recorded with
  the checkpoint of the write the CRM confirmed;
- ``cursor`` (``cursors``), ``models`` (cluster models) and ``lease`` (``leases``, the run
  lease);
- ``schema``: the tables, their creation and the layout's version (``schema_version``), for
  migrations; ``engine``: opening the database.
"""
