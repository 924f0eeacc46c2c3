"""One module per feature; each exports `pages` (HTML) and `api` (JSON, mounted under /api)."""
