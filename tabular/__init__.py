"""Reading the tables counties send (表格读取): files → frames of clean cells.

The kernel below both ``products`` and ``claims``: CSV/Excel/Parquet reading with title rows, header
search and 合计 rows (:mod:`tabular.table`), plain cells and their fast paths (:mod:`tabular.plain`,
:mod:`tabular.simple`), money in integer fen (:mod:`tabular.money`), resident IDs with their check digit
(:mod:`tabular.resident_id`) and int64 keys of fixed-width codes (:mod:`tabular.keys`).  Knows nothing
of products, departments or claims.
"""
