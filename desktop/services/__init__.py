"""One service per feature: the use-cases the GUI and the CLI both call. Qt-free."""
