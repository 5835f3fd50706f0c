"""CDISC SDTM and ADaM datasets built from the product's own records (issue 16), pure.

``model`` holds the dataset and variable metadata (what Define-XML describes) and the XPORT v5 limits;
``sdtm`` maps the gathered trial records to SDTM domains, ``trial_design`` the protocol to TA, TE, TV,
TI and TS, and ``adam`` the SDTM domains plus the endpoint derivation to ADaM. No I/O: the service
``services/cdisc_export.py`` gathers the records and ``adapters/cdisc`` writes the files.
"""
