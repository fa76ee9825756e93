"""A member's dashboard: their hours, what needs them, their listings, suggestions, history."""
