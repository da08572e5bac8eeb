"""Monitoring, alerting, dashboards, logs and traces generated from the inventory."""
