"""Where items come from: a feed read into Items by the source of its type.

- ``base``: the Source contract (SourceRequest in; Unchanged or Document out; FeedError).
- ``registry``: the sources by feed ``type`` (default ``rss``), built from the shared parts.
- ``rss_source``: the RSS source; ``rss``: feedparser and its speed-ups; ``parser_pool``:
  parsing (and matching) in worker processes.
- ``dedupe``: repeats and empties inside one document, for every source.
- ``http``: the HTTP client; ``urls``: URL policy; ``connections``: kept-alive
  connections under a whole-fetch deadline; ``fetch_errors``: failures as FetchError kinds.
"""
