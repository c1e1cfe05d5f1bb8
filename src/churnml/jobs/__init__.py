"""The jobs: what each command does between parsing its options and printing its summary.

All orchestration and file I/O of the commands lives here, one module per job; the steps they call are
pure functions over frames (``labels``, ``features/``, ``modeling/``, ``scoring``, ...). ``cli.py`` parses
options, calls one job and prints what it returns.

- :mod:`churnml.jobs.train`   read, backtest and train, track in MLflow, export the champion
- :mod:`churnml.jobs.tune`    Optuna study on the backtest folds, best parameters to a file
- :mod:`churnml.jobs.score`   the weekly list: read, load the model, score, write list, report, manifest
- :mod:`churnml.jobs.reports` win-back, churn-rate metrics and post-mortem folders
- :mod:`churnml.jobs.bench`   models against the usual methods, spliced into a markdown file
- :mod:`churnml.jobs.features` the point-in-time feature table as Parquet
- :mod:`churnml.jobs.adapt`   a transaction log turned into a contract dataset folder
- :mod:`churnml.jobs.inputs`  the inputs the modeling jobs share (labeled table, truth oracle, tuned params)
- :mod:`churnml.jobs.common`  the error a user can fix and the step timer
"""
