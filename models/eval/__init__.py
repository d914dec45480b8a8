"""Evaluation of the detection models on real data sets (read from a path, never committed):
NSL-KDD, CIC-IDS2017 (improved re-extraction samples), UNSW-NB15, and the replay capture."""
