"""llama.cpp, run in a separate process so that a crashing model never takes the app down."""
