"""Where a function pod holds a code archive that came in a ConfigMap.

The operator mounts the ConfigMap's archive key at ``ARCHIVE_PATH`` and hands the agent
``ARCHIVE_URL``; the agent accepts that one ``file://`` URL beside http(s), so a zip
that ``kappa deploy`` stored in a ConfigMap is checked and unpacked as a URL archive is.
"""

from typing import Final

ARCHIVE_DIR: Final = "/var/kappa/archive"
ARCHIVE_FILE: Final = "code.zip"
ARCHIVE_PATH: Final = f"{ARCHIVE_DIR}/{ARCHIVE_FILE}"
ARCHIVE_URL: Final = f"file://{ARCHIVE_PATH}"
