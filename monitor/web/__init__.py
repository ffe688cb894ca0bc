"""The read-only web console (``[web]``): recent alerts, search, feed health,
rules and the outbox in a browser, served by ``monitor run`` (see README,
Web console). :func:`monitor.web.console.start_web_console` starts it."""
