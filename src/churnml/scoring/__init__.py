"""The weekly list: predictions, explanations, value, rules, playbook, the assembled list and its files."""
