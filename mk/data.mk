# Data layer and disaster recovery (issue 6): the restore drill and the object-storage table.

DR_DEBS := /usr/lib/postgresql/15/bin/initdb=postgresql redis-server=redis-server

.PHONY: dr-drill
dr-drill: $(VENV_STAMP) ## Restore drill on local PostgreSQL 15 + Redis 7; writes measured RPO/RTO into docs/disaster-recovery.md
	@scripts/ensure-debs $(DR_DEBS)
	@$(PY) scripts/dr/drill.py --write-doc docs/disaster-recovery.md

.PHONY: storage-table
storage-table: $(VENV_STAMP) ## Regenerate docs/object-storage.md (buckets per environment) from the inventory
	@$(PY) scripts/dr/storage_table.py --write docs/object-storage.md
