"""One warm "execution environment": a process that imports a function's handler with its
code directory and the layer on the path (as /var/task and /opt/python are on Lambda) and
answers invocations read from a pipe. Logs go to stderr; the protocol owns the real stdout.

The function's role, as template.yaml grants it, is enforced here (localapi.iam): an AWS call
it does not allow fails with AccessDenied as in AWS (the function answers as it would there,
a 503 for the store), a line on stderr names the missing permission, and every call is
recorded under .build/iam/local (or $STREAMAUTH_IAM_RECORD) for the unused-grants report."""

from __future__ import annotations

import importlib
import json
import os
import sys
import time
import traceback
import uuid
from dataclasses import dataclass
from typing import Any


@dataclass
class LambdaContext:
    function_name: str
    memory_limit_in_mb: int = 128
    invoked_function_arn: str = ""
    aws_request_id: str = ""
    log_group_name: str = ""
    log_stream_name: str = "local"
    deadline_ms: int = 0

    def get_remaining_time_in_millis(self) -> int:
        return max(0, self.deadline_ms - int(time.time() * 1000))


def main() -> None:
    code_dir, handler_path, function_name, timeout = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
    protocol_out = os.fdopen(os.dup(1), "w", buffering=1)
    os.dup2(2, 1)  # print() and Powertools logs land on stderr, like CloudWatch
    sys.stdout = sys.stderr
    # /var/task first, then each layer's directory (/opt/python on Lambda)
    sys.path[0:0] = [code_dir, *sys.argv[5:]]
    from localapi import iam

    iam.enforce_for_process(function_name)  # before the handler creates any boto3 client
    module_name, _, attribute = handler_path.rpartition(".")
    handler = getattr(importlib.import_module(module_name), attribute)
    protocol_out.write(json.dumps({"ready": True}) + "\n")
    for line in sys.stdin:
        event = json.loads(line)
        request_id = str(uuid.uuid4())
        context = LambdaContext(
            function_name=function_name,
            invoked_function_arn=f"arn:aws:lambda:us-east-1:123456789012:function:{function_name}",
            aws_request_id=request_id,
            log_group_name=f"/aws/lambda/{function_name}",
            deadline_ms=int(time.time() * 1000) + timeout * 1000,
        )
        reply: dict[str, Any]
        try:
            reply = {"result": handler(event, context)}
        except Exception as exc:  # what Lambda reports as a function error
            traceback.print_exc()
            reply = {"error": str(exc), "errorType": type(exc).__name__}
        protocol_out.write(json.dumps(reply) + "\n")


if __name__ == "__main__":
    main()
