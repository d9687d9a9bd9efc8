"""Personal data under UK GDPR: see it (export), delete it (erase), keep it no longer than needed
(retention), and say so (the privacy notice). See docs/privacy.md.

- `models`: the log of requests, erased organisations' identifiers (hashed), notices shown, contacts.
- `export`: what svbot holds about a person or an organisation, as JSON and as plain text.
- `erase`: a person's personal data, or an organisation and everything of it.
- `retention`: what `svbot clock` forgets once it is old enough.
- `chat`: `privacy`, `my data`, `delete my data` (the feature `install(bot)`).
"""
