"""The query language: MLflow's filter syntax (plus OR and parentheses) parsed to an AST
(`parser`), type-checked and compiled to parameterized SQL (`compiler`), evaluated in
Python against one run for registry policies (`policy`), and the paging every search
shares (`paging`). Backend-free: it imports no database driver.
"""
