"""Eligibility: criterion rules (protocol data), patient records and the tri-state evaluator."""
