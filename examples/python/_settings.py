"""Where the examples connect: $KIMBERLITE_ADDRESSES (comma-separated), else the guide's defaults."""

from __future__ import annotations

import os
from typing import List, Optional


def addresses(default: str = "localhost:5432") -> List[str]:
    return [a.strip() for a in os.environ.get("KIMBERLITE_ADDRESSES", default).split(",") if a.strip()]


def auth_token(default: Optional[str] = None) -> Optional[str]:
    return os.environ.get("KIMBERLITE_AUTH_TOKEN", default)
