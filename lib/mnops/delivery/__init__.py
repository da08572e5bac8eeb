"""Progressive delivery: which services roll out as Argo Rollouts, and how they are analysed.

    plan = delivery_plan(target, service)   # Delivery: strategy, steps, analysis, traffic router

The inventory chooses per service and environment (`delivery` in service_defaults, a service
class or an env class); the thresholds come from the service's `alerts`, never from here.
"""

from __future__ import annotations

from mnops.delivery.model import Analysis, Delivery, delivery_plan

__all__ = ["Analysis", "Delivery", "delivery_plan"]
