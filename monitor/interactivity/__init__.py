"""Buttons on alert posts, and Slack's requests when someone clicks one.

Slack posts each click to the monitor's HTTP interactivity endpoint
(``POST /slack/actions`` on the health server), signed with the app's
signing secret. :mod:`.actions` checks and reads the request, :mod:`.marks`
decides what a click may do and what the post then shows, :mod:`.handler`
records it and updates the post, and :mod:`.sink` puts the buttons and
what the desk said on every top-level alert post and every edit of it.
"""
