"""ragchat embedder service.

Models load only from local files: the Hugging Face libraries are put in offline mode before any
of them is imported (every import of the service's modules goes through this package first), so
a missing file fails loudly instead of starting a download.
"""

import os

os.environ["HF_HUB_OFFLINE"] = "1"
os.environ["TRANSFORMERS_OFFLINE"] = "1"
