"""What the cross-service ingestion tests and ``bench/ingest.py`` share: the pipeline of real
service processes and the websites it crawls."""
