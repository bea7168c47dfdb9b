"""Reading the tables counties send (表格读取): files → frames of clean cells.

The kernel below both ``products`` and ``claims``; knows nothing of products, departments or claims.

* :mod:`tabular.sheets` — ``read_table``/``read_sheets``: a file as tables of raw cells with line numbers,
  built on :mod:`tabular.files` (bytes, encodings, Excel/ODS/Parquet/CSV → raw grids; ``TableError``),
  :mod:`tabular.layout` (header row below title rows, 合计/小计/footer rows, the title's unit) and
  :mod:`tabular.headers` (header text, aliases, ``match_columns``);
* :mod:`tabular.cells` — cell parsers on whole columns (text, codes, village codes, counts);
* :mod:`tabular.money` — money in integer fen; :mod:`tabular.resident_id` — resident IDs with their
  check digit, and their int64 key (the 17-digit body, parsed by one function, ``id_body_numbers``);
* :mod:`tabular.simple`, :mod:`tabular.plain` — the fast path: simple machine exports read by pyarrow and
  plain cells typed on Arrow byte buffers (:mod:`tabular.arrow_bytes`: the buffers as numpy bytes, digits
  read eight at a time); :mod:`tabular.keys` — int64 keys of fixed-width codes for joins;
* :mod:`tabular.errors` — the project's domain error classes.
"""
