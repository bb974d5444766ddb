"""Pure crawling logic: URLs, scope, robots rules, sitemaps, parsing. No I/O here."""
