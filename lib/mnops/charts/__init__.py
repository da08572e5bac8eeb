"""Third-party Helm charts: the lock (charts.lock), fetching packages into a verified cache,
rendering them per cluster with Helm, and checking what they render.

    catalog = chart_catalog(parameters_by_target)     # every chart any cluster may run
    lock = read_lock(ROOT / LOCK_FILE)                 # version, repository and digest per chart
    package = fetch(lock["kyverno"], cache, mirror)    # a .tgz whose sha256 matches the lock
"""
