"""The SQLite backend: one store folder holding `mltop.db` (WAL) and `artifacts/`.

`database` opens, checks, creates and migrates the file and owns every connection and
write transaction; `tracking` is the run store, `registry` the model registry, `search`
runs the compiled queries, `schema` the tables and migrations. Front ends never import
this package: they take a store through the Protocols in `mltop.store.protocols`.
"""
