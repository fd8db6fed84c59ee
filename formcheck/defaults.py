"""Defaults shared by the commands, in a module light enough for the CLI to import at start-up."""

# Rehab movements last seconds: analysing 10 frames a second counts every rep, times every hold
# and flags every fault exactly as analysing every frame does (benchmarks/accuracy.py compares
# the two on every rendered clip; benchmarks/real_clips.py on the real ones), for a third of a
# 30 fps clip's model time. None analyses every frame.
DEFAULT_ANALYSIS_FPS = 10.0
