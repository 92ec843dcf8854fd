"""Training: one module per concern, data flowing one way.

run (one seed's or fold's training job and what it writes), data (the manifest's utterances as
tensors), normalise, models, curriculum, loop (epochs, losses, selection), checkpoint, dann,
classical (scikit-learn and XGBoost classifiers), sequences (frame sequences)."""
