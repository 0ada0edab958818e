"""The CSV import engine: mappings, per-kind field specs, streaming in chunks.

A mapping is JSON::

    {"columns": {"CSV column": "field", ...},
     "values": {"field": {"raw": "stored", ...}},
     "unmapped": "attributes",
     "date_order": "dmy", "phone_region": "GB", "delimiter": ";"}

Only ``columns`` is required. ``unmapped: "attributes"`` (contacts only)
keeps every other column in the contact's ``attributes``; a column may also
be mapped to ``attributes.<name>`` and given a type in ``"types"``
(``{"attributes.signup_date": "date"}``: cleaned, and the row rejected when
invalid, like built-in fields). ``date_order`` settles dates such as
03/04/2024 (``dmy``, the default, or ``mdy``); a part above 12 always decides.

The file's encoding (UTF-8 with or without a byte order mark, UTF-16 with
one, else Windows-1252) and delimiter (comma, semicolon, tab or vertical bar;
``"delimiter"`` in the mapping overrides it) are detected and recorded. A
record that is not well-formed CSV (a stray quote, say) is rejected with its
line number and the reading resumes on the next line; the whole file is
refused, with nothing written, only when its header or every row is
unreadable, or when it cannot be decoded (the message says where). Duplicated
headers are refused by name; a cell holding a NUL character and a contact
with more than ``CRMCORE_IMPORT_MAX_ATTRIBUTE_KEYS`` attributes are row errors.

Rows are read with ``csv.reader`` and written in chunks (one transaction, a
few bulk queries each). A row is matched against existing records and
earlier rows of the file by its keys (external id, then email for contacts);
a match is updated only when a value differs, so importing the same file
twice changes nothing. Empty cells never erase a stored value.
"""
