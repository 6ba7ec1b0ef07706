"""The planning service: individual service plans, goals, progress notes and reviews."""
