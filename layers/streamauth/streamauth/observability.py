"""Logger and Metrics, created once per process.

No Powertools Tracer: `Tracer()` imports aws_xray_sdk (~180 ms measured, more than the rest of
a cold start); the template's `Tracing: Active` records each invocation without it.
Never log events, headers, bodies, tokens, codes or secrets: append safe keys only.
"""

from __future__ import annotations

import logging
import warnings

from aws_lambda_powertools import Logger, Metrics

logger = Logger()
metrics = Metrics()

# An invocation that counted nothing (most do) is not worth a warning per call: Powertools
# warns "No application metrics to publish" on each flush of an empty set.
warnings.filterwarnings("ignore", message="No application metrics to publish", category=UserWarning)

# botocore logs whole requests at DEBUG (items with tokens, sealed secrets, key hashes):
# keep the SDK's own loggers quiet whatever level the runtime or an operator sets.
for _name in ("botocore", "boto3", "urllib3", "s3transfer"):
    logging.getLogger(_name).setLevel(logging.WARNING)
