"""iCalendar feeds (issue 4)."""
