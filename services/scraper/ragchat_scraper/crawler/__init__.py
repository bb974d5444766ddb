"""Crawling with I/O: polite fetching, robots.txt, JavaScript rendering, running crawl jobs."""
