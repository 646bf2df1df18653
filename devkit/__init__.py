"""Development kit: helpers the tests and the benches share, never installed with the app.

- :mod:`devkit.evaluation`: clustering, verification and search scores against ground truth;
- :mod:`devkit.synthetic`: seeded synthetic embeddings and photos for scale tests and benches.

Importable from a checkout (the tests run from the repository root; bench scripts put the root on
``sys.path``); ``pyproject.toml`` packages only ``faceorganizer``.
"""
