"""The notifications service: notification rules, deliveries and crisis escalation."""
