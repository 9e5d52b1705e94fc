"""The query language: MLflow's filter syntax (plus OR and parentheses) parsed to an AST
(`parser`), type-checked and compiled to parameterized SQL (`compiler`), evaluated in
Python against one run for registry policies (`policy`), and the paging every search
shares (`paging`). Backend-free: it imports no database driver.
"""

from mltop.store.query.compiler import check_run_search
from mltop.store.query.parser import parse_filter, parse_order_by

__all__ = ["check_run_search", "parse_filter", "parse_order_by"]
