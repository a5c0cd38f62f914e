"""Framework integrations: loggers and callbacks that write to a neptune-sync run.

One module per framework (``pytorch_lightning``, ``transformers``, ``optuna``, ``python_logger``,
``tensorflow_keras``, ``lightgbm``, ``xgboost``, ``sklearn``). Each imports its framework itself,
so nothing here is imported by ``import neptune_sync``; docs/integrations.md lists the fields each
one logs.
"""
