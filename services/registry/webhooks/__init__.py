"""Partner webhooks: subscriptions, deliveries made from events, the signed delivery worker."""
