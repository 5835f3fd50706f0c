"""The protocol specification model: a trial's design, treatments, rules and endpoints as data."""

from trialdesk.domain.protocol.model import Protocol

__all__ = ["Protocol"]
