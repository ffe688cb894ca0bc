"""Rules: the YAML schema, loading with file:line errors, and the pure matcher.

From files to a rule set: ``model`` (the schema), ``compile`` (specs to the
records of ``compiled``, every term into the shared ``index``), ``load`` (a
``RuleSet`` from a directory). Matching: ``match.Matcher`` scans an item once
with ``index.TermIndex``, then judges each candidate rule with
``verdict.evaluate_rule`` over an ``evaluation.Evaluation``. Measuring:
``testing`` runs the cases rule files carry; ``corpus`` and ``evaluate``
score rules on labelled corpora (``monitor eval``).
"""
