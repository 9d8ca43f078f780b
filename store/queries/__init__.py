"""The store's read queries, one module per view or aggregate; callers above ``store/`` ask here
instead of building ``select()`` statements of their own."""
