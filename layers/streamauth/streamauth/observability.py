"""Logger and Metrics, created once per process.

No Powertools Tracer: `Tracer()` imports aws_xray_sdk (~180 ms measured, more than the rest of
a cold start); the template's `Tracing: Active` records each invocation without it.
Never log events, headers, bodies, tokens, codes or secrets: append safe keys only.
"""

from __future__ import annotations

from aws_lambda_powertools import Logger, Metrics

logger = Logger()
metrics = Metrics()
