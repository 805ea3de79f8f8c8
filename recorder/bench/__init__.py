"""``make bench``: performance figures as ratios against baselines measured in the same run.

Never a timed test: these machines are shared and noisy, so each figure is the median of several
runs, and each goal is a ratio to a baseline taken moments before, on the same bytes.
"""
