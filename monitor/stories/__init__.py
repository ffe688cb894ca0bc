"""Stories: matched items grouped by the real-world event they report.

One event reaches the desk through many outlets in many wordings. This
package decides which items tell the same event (:mod:`.similarity`, pure:
text and times in, decisions out; it reads texts with :mod:`.terms`, which
knows countries, localities and leaders from :mod:`.places` and kinds of
event from :mod:`.events`), so that the desk gets one alert per event with
its sources gathered under it rather than one alert per outlet.
"""
