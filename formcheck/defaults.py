"""Defaults shared by the commands, in a module light enough for the CLI to import at start-up."""

# Rehab reps and holds last seconds, so recorded clips are analysed at 15 frames a second: half the
# model time of a 30 fps clip, a quarter of a 60 fps one, nothing dropped from a 15 fps one. On the
# accuracy benchmark rendered at 30 fps it gives the same counts and faults as every frame on all
# 64 clips, and on the hand-counted real clips it is right more often (20 of 22 against 18; 19 of
# 22 identical: benchmarks/accuracy.py, real_clips.py; see the README). None analyses every frame.
DEFAULT_ANALYSIS_FPS = 15.0

ANALYSIS_FPS_HELP = (
    "Frames analysed per second (0: every frame); the default counts like every frame does at a "
    "fraction of the time."
)
