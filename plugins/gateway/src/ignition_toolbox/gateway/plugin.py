"""Placeholder until the step types land."""
