"""Published versions of Functions: what a version holds (``snapshot``) and publishing it."""
