"""The intake service: clients, consent, assessments, risk flags and caseload assignment."""
