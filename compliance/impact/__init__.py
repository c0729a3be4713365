"""Change impact: what a release changes in each environment, from its synthesized templates and those of the
release last deployed there. ``classify`` compares two templates, ``policies`` finds permission broadening,
``assembly`` pairs the stacks of two cloud assemblies (or a fetched baseline), ``acknowledgments`` is the
registry of reviewed stateful replacements and removals, ``render`` writes the report."""
