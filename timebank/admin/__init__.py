"""Installation administration: timebanks, their settings, and who coordinates them."""
