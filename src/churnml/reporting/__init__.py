"""What people read: the HTML report, churn metrics, the win-back list, post-mortems, interventions."""
