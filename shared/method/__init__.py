"""The MJD method of Chen et al. (EMNLP 2024 Findings) without an LLM: the authors' prompts,
run specs and records, aggregation and calibration. Framework-free; used by every service."""
