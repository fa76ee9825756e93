"""The weekly digest's unsubscribe link: a signed token and the public page it opens."""
