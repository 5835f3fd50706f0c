"""CDISC ODM 1.3.2 documents: what a document holds (:mod:`.model`), its XML writer (:mod:`.writer`)
and the check against the ODM 1.3.2 XML schema (:mod:`.validation`, schema files in ``schema/``).

The adapter writes what it is given; :mod:`trialdesk.services.odm_export` gathers it from the
database and the protocol.
"""
