"""CI/CD helpers: which workflow step performs which step of the seed's pipelines."""
