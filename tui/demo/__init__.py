"""The demo: a store of believable runs and models (`store.py`) and live training jobs
writing into it (`train.py`, started as `python -m mltop.tui.demo.train`). Started by
`mltop demo`; it imports nothing of the dashboard or the command line, so that each
training job starts fast."""
