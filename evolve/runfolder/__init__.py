"""The run folder: a search's life on disk — config, log, records, checkpoints, gallery,
audit and dream polish. Imports the search below it; never the CLI.

    session = start_run(path, config)      # RunDir.create + first generation scored
    drive(session, should_stop=stop)       # generations → log, records, checkpoints
"""
