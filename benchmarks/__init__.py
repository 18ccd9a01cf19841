"""``make bench``: our gateway against GraphQL Mesh on Hive Gateway, same run.

``python -m benchmarks.run --help`` for the options. Modules: ``operations`` (the
five measured operations, each ours paired with the Mesh query fetching the same
data), ``processes`` (starting what is measured, CPU ticks from ``/proc``),
``load`` (wrk and its Lua script), ``results`` (the table, the ratios, the files).
"""
