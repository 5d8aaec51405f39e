"""iCalendar feeds."""
