"""MLflow's JSON (as its REST API answers) to mltop's entities, and back.

(Helper A1 fills this in first: experiments, runs, params, tags, metrics, datasets, logged
models. The registry's conversions live in registry.py.)
"""
