"""The audit trail: one CloudTrail-shaped event per call, hash-chained, durable before answers."""
