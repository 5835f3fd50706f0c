"""Pure analysis layer: from domain records to the numbers, tables and snapshot a report shows.

It sits above ``domain`` and ``stats`` and below ``services``/``adapters``: it imports only those two
pure layers (no database, web, CLI or file I/O), so the services gather data and call it, and the
report renderer (``adapters/report``) renders what it returns. Modules:

* :mod:`~trialdesk.analysis.efficacy`: the efficacy analyses per phase and arm (KM, log-rank, Cox, ORR);
* :mod:`~trialdesk.analysis.snapshot`: :class:`~trialdesk.analysis.snapshot.ReportSnapshot`, the frozen
  input of one trial report, with CONSORT counts and target-sum series;
* :mod:`~trialdesk.analysis.synthetic`: SYNTHETIC snapshots for tests and demonstrations;
* :mod:`~trialdesk.analysis.safety_tables`: the DSMB safety tables from plain subject/AE records.
"""
