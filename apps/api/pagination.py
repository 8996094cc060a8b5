from __future__ import annotations

from rest_framework.pagination import CursorPagination


class SyncCursorPagination(CursorPagination):
    """Every list: oldest change first, 50 per page (`page_size` up to 100), opaque `cursor` links.

    Cursors, not page numbers: a partner syncing with `updated_since` walks `next` links and sees
    neither skips nor repeats while rows change under it, and no COUNT(*) runs per page.
    """

    ordering = ("updated_at", "id")
    page_size = 50
    page_size_query_param = "page_size"
    max_page_size = 100
