"""Promotion only of what ran healthily: evidence from Argo CD and Prometheus, and a verdict.

`scripts/promote.py` moves an image pin one environment forward only when every cluster of the
source environment ran exactly that image healthily (release.py says what to look for in the
compiled tree, api.py fetches live or recorded answers, health.py judges them, evidence.py
writes the Markdown that goes into the promotion pull request).
"""
