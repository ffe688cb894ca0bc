"""Where messages go: the sink contract (:mod:`.base`), one module per sink,
and the registry that names them (:mod:`.registry`)."""
