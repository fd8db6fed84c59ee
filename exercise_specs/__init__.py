"""Exercise specs shipped with formcheck (installed as the package formcheck.specs)."""
