"""Laboratory vocabulary, one owner for every layer that reads a lab value.

* :mod:`~trialdesk.domain.labs.catalogue`: :data:`LabTest`, the tests trialdesk knows;
* :mod:`~trialdesk.domain.labs.units`: canonical unit per test, conversions, plausibility ranges;
* :mod:`~trialdesk.domain.labs.result`: :class:`LabResult`, the one lab-result value type (the
  patient record's ``labs``), and the validity window (which result is current at a date);
* :mod:`~trialdesk.domain.labs.baseline`: which stored result is the baseline of a later one.

Eligibility (:mod:`trialdesk.domain.eligibility`), CTCAE lab grading
(:mod:`trialdesk.domain.safety.ctcae`), the lab service and the FHIR import all use these.
"""
